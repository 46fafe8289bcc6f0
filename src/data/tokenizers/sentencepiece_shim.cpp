// libdtrain_sentencepiece.so: sentencepiece_api.h implemented with Debian's libsentencepiece (see that
// header for why it is a library of its own). Built with hidden visibility; only
// dtrain_sentencepiece_library() is exported.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "data/tokenizers/sentencepiece_api.h"

namespace dtrain::data::spm {
namespace {

void throw_if_failed(const sentencepiece::util::Status& status) {
  if (!status.ok()) throw std::runtime_error(status.ToString());
}

class ProcessorModel final : public Model {
 public:
  explicit ProcessorModel(const std::string& serialized) {
    throw_if_failed(processor_.LoadFromSerializedProto(serialized));
  }

  std::vector<std::string> encode(std::string_view text) const override {
    std::vector<std::string> pieces;
    throw_if_failed(processor_.Encode(absl::string_view(text.data(), text.size()), &pieces));
    return pieces;
  }

  std::string decode(const std::vector<std::string>& pieces) const override {
    std::string text;
    throw_if_failed(processor_.Decode(pieces, &text));
    return text;
  }

  int size() const override { return processor_.GetPieceSize(); }

  std::string piece(int id) const override {
    check_id(id);
    return processor_.IdToPiece(id);
  }

  PieceKind kind(int id) const override {
    check_id(id);
    if (processor_.IsUnknown(id)) return PieceKind::kUnknown;
    if (processor_.IsControl(id)) return PieceKind::kControl;
    if (processor_.IsUnused(id)) return PieceKind::kUnused;
    if (processor_.IsByte(id)) return PieceKind::kByte;
    return PieceKind::kNormal;
  }

 private:
  void check_id(int id) const {
    if (id < 0 || id >= size())
      throw std::out_of_range("piece id " + std::to_string(id) + " is out of range");
  }

  sentencepiece::SentencePieceProcessor processor_;
};

class VectorSentences final : public sentencepiece::SentenceIterator {
 public:
  explicit VectorSentences(const std::vector<std::string>& sentences) : sentences_(sentences) {}
  bool done() const override { return next_ >= sentences_.size(); }
  void Next() override { ++next_; }
  const std::string& value() const override { return sentences_[next_]; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  const std::vector<std::string>& sentences_;
  std::size_t next_ = 0;
};

class ShimLibrary final : public Library {
 public:
  std::unique_ptr<Model> load(const std::string& serialized) const override {
    return std::make_unique<ProcessorModel>(serialized);
  }

  std::string train(const std::map<std::string, std::string>& options,
                    const std::vector<std::string>& sentences, unsigned int seed) const override {
    // The trainer's random generator and log level are process-wide.
    static std::mutex training;
    const std::lock_guard<std::mutex> lock(training);
    sentencepiece::SetRandomGeneratorSeed(seed);
    const std::unordered_map<std::string, std::string> arguments(options.begin(), options.end());
    VectorSentences iterator(sentences);
    std::string serialized;
    throw_if_failed(sentencepiece::SentencePieceTrainer::Train(arguments, &iterator, &serialized));
    return serialized;
  }

  std::string version() const override { return DTRAIN_SENTENCEPIECE_VERSION; }
};

}  // namespace
}  // namespace dtrain::data::spm

extern "C" __attribute__((visibility("default"))) const dtrain::data::spm::Library*
dtrain_sentencepiece_library() {
  static const dtrain::data::spm::ShimLibrary library;
  return &library;
}
