// copy_tokenizer_files: the files of data.tokenizer that make a checkpoint a complete Hugging Face folder,
// for a BERT and for a Marian tokenizer (whose SentencePiece library loads beside LibTorch here).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/tokenizers/marian_training.h"
#include "data/tokenizers/tokenizer.h"
#include "support/error_matchers.h"
#include "support/test_support.h"
#include "train/checkpoint.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(TokenizerFiles, BertFoldersCopyTheirVocabularyAndConfigs) {
  ScratchDir dir;
  write_file(dir / "tok/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
  write_file(dir / "tok/tokenizer_config.json", R"({"do_lower_case": true})");
  write_file(dir / "tok/README.md", "not a tokenizer file");
  fs::create_directories(dir / "model");
  copy_tokenizer_files(dir / "tok", dir / "model");
  // special_tokens_map.json, which the folder lacks, is written from the tokenizer's settings; the
  // folder's own tokenizer_config.json is kept as it is.
  EXPECT_EQ(names_in(dir / "model"),
            (std::vector<std::string>{"special_tokens_map.json", "tokenizer_config.json", "vocab.txt"}));
  std::ifstream config(dir / "model/tokenizer_config.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(config), {}), R"({"do_lower_case": true})");
}

TEST(TokenizerFiles, MarianFoldersCopyTheirModelsAndVocabulary) {
  ScratchDir dir;
  std::string corpus_en, corpus_fr;
  for (int line = 0; line < 200; ++line) {
    corpus_en += "the man " + std::to_string(line % 17) + " walks the dog in the park\n";
    corpus_fr += "l'homme " + std::to_string(line % 13) + " promène le chien dans le parc\n";
  }
  write_file(dir / "corpus.en", corpus_en);
  write_file(dir / "corpus.fr", corpus_fr);
  data::MarianTrainingOptions options;
  options.source_file = dir / "corpus.en";
  options.target_file = dir / "corpus.fr";
  options.output = dir / "tok";
  options.vocab_size = 30;
  options.threads = 1;
  data::train_marian_tokenizer(options);
  fs::create_directories(dir / "model");
  copy_tokenizer_files(dir / "tok", dir / "model");
  EXPECT_EQ(names_in(dir / "model"),
            (std::vector<std::string>{"source.spm", "target.spm", "tokenizer_config.json", "vocab.json"}));
  EXPECT_EQ(data::load_tokenizer(dir / "model")->vocab_sha256(),
            data::load_tokenizer(dir / "tok")->vocab_sha256());
}

TEST(TokenizerFiles, AFolderWithoutATokenizerIsAnError) {
  ScratchDir dir;
  fs::create_directories(dir / "tok");
  fs::create_directories(dir / "model");
  EXPECT_DTRAIN_ERROR(copy_tokenizer_files(dir / "tok", dir / "model"),
                      "not a tokenizer folder dtrain reads");
}

}  // namespace
}  // namespace dtrain::train
