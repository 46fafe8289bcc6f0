// load_tokenizer(): the type it detects, and the BERT WordPiece tokenizer behind the Tokenizer interface.
#include <gtest/gtest.h>

#include "data/tokenizers/bert_tokenizer.h"
#include "data/tokenizers/tokenizer.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {
namespace fs = std::filesystem;
using testing::ScratchDir;
using testing::write_file;

TEST(LoadTokenizer, ReadsBertFoldersAsWordPiece) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  const fs::path folder = shared / "vocab" / "bert-base-uncased";
  ASSERT_TRUE(is_tokenizer_folder(folder));
  const auto tokenizer = load_tokenizer(folder);
  const auto bert = BertTokenizer::from_folder(folder);
  EXPECT_EQ(tokenizer->type(), "bert");
  EXPECT_EQ(tokenizer->encode("Hello, world!", 4), bert.encode("Hello, world!", std::nullopt, 4).input_ids);
  EXPECT_EQ(tokenizer->encode("Hello, world!", 4), (std::vector<int32_t>{101, 7592, 1010, 102}));
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("Hello, world!", 16)), "hello, world!");
  EXPECT_DTRAIN_ERROR(tokenizer->encode_target("Bonjour", 16),
                      "a BERT WordPiece tokenizer has no target side");

  const SpecialTokenIds ids = tokenizer->special_ids();
  EXPECT_EQ(ids.pad, 0);
  EXPECT_EQ(ids.unk, 100);
  EXPECT_EQ(ids.cls, 101);
  EXPECT_EQ(ids.sep, 102);
  EXPECT_FALSE(ids.eos.has_value());
  EXPECT_FALSE(ids.decoder_start.has_value());
  EXPECT_EQ(tokenizer->vocab_size(), 30522);
  EXPECT_EQ(tokenizer->target_vocab_size(), 30522);
  EXPECT_EQ(tokenizer->vocab_sha256(), bert.vocab_sha256());
  EXPECT_EQ(tokenizer->target_vocab_sha256(), bert.vocab_sha256());
  EXPECT_EQ(tokenizer->settings_json(), bert.settings().to_json());
  EXPECT_EQ(tokenizer->model_files(),
            (std::vector<std::string>{"vocab.txt", "tokenizer_config.json", "tokenizer.json",
                                      "special_tokens_map.json"}));
}

TEST(LoadTokenizer, DetectsMarianFoldersByTheirFilesOrClass) {
  ScratchDir folder;
  write_file(folder / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
  EXPECT_EQ(load_tokenizer(folder.path())->type(), "bert");
  // A Marian folder is read as one, and so reports what it lacks, even beside a vocab.txt.
  write_file(folder / "tokenizer_config.json", R"({"tokenizer_class": "MarianTokenizer"})");
  EXPECT_TRUE(is_tokenizer_folder(folder.path()));
  EXPECT_DTRAIN_ERROR(load_tokenizer(folder.path()), (folder / "source.spm").string() + ": not found");
  fs::remove(folder / "tokenizer_config.json");
  write_file(folder / "source.spm", "");
  EXPECT_DTRAIN_ERROR(load_tokenizer(folder.path()),
                      (folder / "source.spm").string() + ": not a SentencePiece model");
}

TEST(LoadTokenizer, RejectsFoldersWithoutATokenizer) {
  ScratchDir folder;
  write_file(folder / "config.json", "{}");
  EXPECT_FALSE(is_tokenizer_folder(folder.path()));
  EXPECT_DTRAIN_ERROR(
      load_tokenizer(folder.path()),
      folder.path().string() +
          ": not a tokenizer folder dtrain reads: it has neither vocab.txt (BERT WordPiece) nor "
          "source.spm and vocab.json (Marian)");
  EXPECT_FALSE(is_tokenizer_folder(folder / "missing"));
  EXPECT_DTRAIN_ERROR(load_tokenizer(folder / "missing"), "missing: tokenizer folder not found");
}

}  // namespace
}  // namespace dtrain::data
