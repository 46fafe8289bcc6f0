#pragma once
// SentencePiece models and training for dtrain, through libdtrain_sentencepiece.so (see
// sentencepiece_api.h for why SentencePiece lives in a library of its own). The library is loaded on
// first use; failures become dtrain::Error naming the model file.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizers/sentencepiece_api.h"

namespace dtrain::data {

class SentencePieceModel {
 public:
  // Reads a .spm/.model file; errors name it.
  static SentencePieceModel from_file(const std::filesystem::path& path);
  // A model from its serialized bytes; `name` stands for it in error messages.
  SentencePieceModel(const std::string& serialized, std::string name);

  std::vector<std::string> encode(std::string_view text) const;
  std::string decode(const std::vector<std::string>& pieces) const;
  int size() const { return model_->size(); }
  std::string piece(int id) const;
  spm::PieceKind kind(int id) const;
  // SHA-256 of the serialized model: names the segmentation in dataset settings.
  const std::string& sha256() const { return sha256_; }
  const std::string& name() const { return name_; }

 private:
  std::shared_ptr<const spm::Model> model_;  // immutable: copies share it
  std::string name_;
  std::string sha256_;
};

// Trains a model (SentencePieceTrainer options, see sentencepiece_api.h) and returns it serialized;
// throws dtrain::Error with SentencePiece's reason.
std::string train_sentencepiece(const std::map<std::string, std::string>& options,
                                const std::vector<std::string>& sentences, unsigned int seed);

// Version of the SentencePiece library in use, e.g. "0.1.97".
std::string sentencepiece_version();

}  // namespace dtrain::data
