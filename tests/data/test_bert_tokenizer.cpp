#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "common/sha256.h"
#include "data/bert_tokenizer.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

fs::path bert_folder(const fs::path& shared) {
  return shared / "vocab" / "bert-base-uncased";
}

std::vector<std::string> tokens_of(const BertTokenizer& tokenizer, std::string_view text) {
  std::vector<std::string> tokens;
  for (int32_t id : tokenizer.tokenize(text)) tokens.push_back(tokenizer.vocab()[id]);
  return tokens;
}

// A vocabulary small enough that every expected id can be read off it.
BertTokenizer tiny_tokenizer(TokenizerSettings settings = {}) {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff",     "##able",
                                    "a",     "##a",   "b",     "##b",   ",",      "!",  "i\xCC\x87", "x"};
  return BertTokenizer(std::move(vocab), std::move(settings));
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no dtrain::Error thrown)";
}

std::vector<json> read_jsonl(const fs::path& path) {
  std::ifstream in(path);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

std::optional<std::string_view> text_b_of(const json& row) {
  const auto found = row.find("text_b");
  if (found == row.end() || found->is_null()) return std::nullopt;
  return found->get_ref<const std::string&>();
}

TEST(BertTokenizer, MatchesEveryFixtureRow) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  const auto tokenizer = BertTokenizer::from_folder(bert_folder(shared));
  const auto rows = read_jsonl(shared / "fixtures" / "tokenizer-bert-base-uncased.jsonl");
  ASSERT_EQ(rows.size(), 316u);
  for (const json& row : rows) {
    const Encoding encoding = tokenizer.encode(row.at("text_a").get<std::string>(), text_b_of(row),
                                               row.at("max_length").get<int>());
    const std::string where = fmt::format("{} row {} max_length {}", row.at("source").get<std::string>(),
                                          row.at("row").get<int>(), row.at("max_length").get<int>());
    EXPECT_EQ(encoding.input_ids, row.at("input_ids").get<std::vector<int32_t>>()) << where;
    EXPECT_EQ(encoding.token_type_ids, row.at("token_type_ids").get<std::vector<int8_t>>()) << where;
  }
}

// Every row of every GLUE train/dev file at three max lengths, against the Rust tokenizer (through
// its Node binding, installed by launch/setup.sh into tests/reference).
TEST(BertTokenizer, MatchesRustTokenizerOnAllGlueFiles) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  const fs::path reference = testing::source_dir() / "tests" / "reference";
  if (!fs::is_directory(reference / "node_modules" / "tokenizers")) {
    GTEST_SKIP() << reference.string()
                 << "/node_modules/tokenizers is missing (run launch/setup.sh); skipped";
  }
  testing::ScratchDir scratch("dtrain-tokenizer-reference");
  const fs::path expected_path = scratch / "glue.jsonl";
  const auto generated = testing::run_command(fmt::format(
      "node '{}' '{}' '{}' '{}' 512 128 64", (reference / "glue_reference.js").string(),
      (bert_folder(shared) / "tokenizer.json").string(), (shared / "glue").string(), expected_path.string()));
  ASSERT_EQ(generated.exit_code, 0) << generated.output;

  const auto tokenizer = BertTokenizer::from_folder(bert_folder(shared));
  std::ifstream expected(expected_path);
  std::map<std::string, int> rows_per_file;
  int mismatches = 0;
  for (std::string line; std::getline(expected, line);) {
    const json row = json::parse(line);
    const auto source = row.at("source").get<std::string>();
    ++rows_per_file[source];
    for (const json& reference_encoding : row.at("encodings")) {
      const int max_length = reference_encoding.at("max_length").get<int>();
      const Encoding encoding =
          tokenizer.encode(row.at("text_a").get<std::string>(), text_b_of(row), max_length);
      if (encoding.input_ids == reference_encoding.at("input_ids").get<std::vector<int32_t>>() &&
          encoding.token_type_ids == reference_encoding.at("token_type_ids").get<std::vector<int8_t>>()) {
        continue;
      }
      if (++mismatches <= 10) {
        ADD_FAILURE() << source << " row " << row.at("row") << " max_length " << max_length << ": "
                      << row.at("text_a") << " / " << row.at("text_b");
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  for (const char* task : {"CoLA", "MRPC", "RTE", "SST-2", "STS-B"}) {
    for (const char* split : {"train.tsv", "dev.tsv"}) {
      const std::string source = fmt::format("{}/{}", task, split);
      EXPECT_GT(rows_per_file[source], 100) << source << " is missing from the reference";
    }
  }
}

}  // namespace
}  // namespace dtrain::data
