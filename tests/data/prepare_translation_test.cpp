// `dtrain prepare --task translation` against transformers' MarianTokenizer(source, text_target=target,
// truncation=True, max_length=...) on every line of Multi30k's validation split, from parallel files,
// TSV columns and JSON Lines in the Hugging Face datasets layout; and its one-line errors on bad input.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "data/dataset/dataset_reader.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using testing::ScratchDir;
using testing::write_file;

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

CommandResult dtrain(const std::string& arguments) {
  return testing::run_command(quoted(testing::dtrain_binary()) + " " + arguments);
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void expect_one_line_error(const CommandResult& result, const std::string& expected) {
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.output.rfind("dtrain: error: ", 0), 0u) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  EXPECT_NE(result.output.find(expected), std::string::npos) << result.output;
}

bool has_h5_files(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".h5") != std::string::npos) return true;
  return false;
}

// The reference's ids for each line: {input_ids, labels} in line order.
struct ReferencePair {
  std::vector<int32_t> input_ids, labels;
};

class PrepareTranslation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto shared = testing::shared_data();
    if (!shared || !fs::is_directory(*shared / "multi30k")) return;
    corpus_ = *shared / "multi30k";
    scratch_ = new ScratchDir("dtrain-prepare-translation");
    const CommandResult trained = dtrain(fmt::format(
        "train-tokenizer --type marian --source {} --target {} --output {} --threads 2 --vocab-size 1000 "
        "--sample 8000",
        quoted(corpus_ / "train.en"), quoted(corpus_ / "train.fr"), quoted(tokenizer())));
    if (trained.exit_code != 0) failure_ = trained.output;
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }
  void SetUp() override {
    DTRAIN_REQUIRE_SHARED_DATA(shared);
    if (corpus_.empty()) DTRAIN_MISSING_REFERENCE("../shared/data/multi30k not found");
    ASSERT_TRUE(failure_.empty()) << failure_;
  }
  static fs::path tokenizer() { return *scratch_ / "tokenizer"; }

  // transformers' ids for the pairs of `source` and `target` (files of one sentence per line).
  static std::vector<ReferencePair> reference(const fs::path& source, const fs::path& target,
                                              int max_length) {
    const fs::path output = *scratch_ / "reference.jsonl";
    const CommandResult result = testing::run_command(
        fmt::format("{} {} corpus {} {} --folder {} {} {}", testing::python(),
                    quoted(testing::source_dir() / "tests/reference/marian_tokenizer_reference.py"),
                    max_length, quoted(output), quoted(tokenizer()), quoted(source), quoted(target)));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    std::vector<ReferencePair> pairs;
    std::ifstream in(output);
    std::string line;
    std::getline(in, line);  // the folder's header
    while (std::getline(in, line)) {
      const json row = json::parse(line);
      pairs.push_back(
          {row.at("input_ids").get<std::vector<int32_t>>(), row.at("labels").get<std::vector<int32_t>>()});
    }
    return pairs;
  }

  static void expect_dataset_equals(const fs::path& file, const std::vector<ReferencePair>& expected) {
    const DatasetReader reader(file);
    ASSERT_EQ(reader.num_samples(), static_cast<int64_t>(expected.size()));
    std::vector<int64_t> indices(expected.size());
    std::iota(indices.begin(), indices.end(), 0);
    const SampleBlock block = reader.read(indices);
    int mismatches = 0;
    for (size_t i = 0; i < expected.size() && mismatches < 5; ++i) {
      const std::vector<int32_t> source(block.input_ids.begin() + block.starts[i],
                                        block.input_ids.begin() + block.starts[i + 1]);
      const std::vector<int32_t> target(block.label_ids.begin() + block.label_starts[i],
                                        block.label_ids.begin() + block.label_starts[i + 1]);
      if (source != expected[i].input_ids || target != expected[i].labels) ++mismatches;
      EXPECT_EQ(source, expected[i].input_ids) << file << " line " << i + 1;
      EXPECT_EQ(target, expected[i].labels) << file << " line " << i + 1;
    }
  }

  static fs::path corpus_;
  static ScratchDir* scratch_;
  static std::string failure_;
};
fs::path PrepareTranslation::corpus_;
ScratchDir* PrepareTranslation::scratch_ = nullptr;
std::string PrepareTranslation::failure_;

TEST_F(PrepareTranslation, ParallelFilesEqualMarianTokenizerOnEveryValidationLine) {
  DTRAIN_REQUIRE_PYTHON("transformers sentencepiece");
  const fs::path output = *scratch_ / "val.h5";
  const CommandResult result = dtrain(fmt::format(
      "prepare --task translation --tokenizer {} --source-file {} --target-file {} --output {}",
      quoted(tokenizer()), quoted(corpus_ / "val.en"), quoted(corpus_ / "val.fr"), quoted(output)));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("val.en + val.fr -> "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(": 1014 pairs; source "), std::string::npos) << result.output;
  expect_dataset_equals(output, reference(corpus_ / "val.en", corpus_ / "val.fr", 128));

  // What the training side needs is recorded: Marian's pad id is the decoder start.
  const DatasetReader reader(output, Verification::everything);
  const DatasetInfo& info = reader.info();
  EXPECT_EQ(info.task, TaskType::translation);
  EXPECT_EQ(info.max_length, 128);
  EXPECT_EQ(info.max_target_length, 128);
  EXPECT_EQ(info.decoder_start_token_id, info.pad_id);
  EXPECT_EQ(info.vocab_size, info.target_vocab_size);
  EXPECT_EQ(info.tokenizer_type, "marian-sentencepiece");
  EXPECT_EQ(info.source_file, "val.en + val.fr");
  EXPECT_FALSE(info.vocab_sha256.empty());
  const CommandResult inspected = dtrain("inspect " + quoted(output));
  EXPECT_EQ(inspected.exit_code, 0) << inspected.output;
}

TEST_F(PrepareTranslation, TruncationKeepsMaxLengthMinusOnePiecesThenEos) {
  DTRAIN_REQUIRE_PYTHON("transformers sentencepiece");
  const fs::path output = *scratch_ / "val-short.h5";
  const CommandResult result = dtrain(fmt::format(
      "prepare --task translation --tokenizer {} --source-file {} --target-file {} --output {} "
      "--max-source-length 12 --max-target-length 12 --threads 3",
      quoted(tokenizer()), quoted(corpus_ / "val.en"), quoted(corpus_ / "val.fr"), quoted(output)));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::vector<ReferencePair> expected = reference(corpus_ / "val.en", corpus_ / "val.fr", 12);
  size_t cut = 0;
  for (const ReferencePair& pair : expected) cut += pair.input_ids.size() == 12 ? 1 : 0;
  EXPECT_GT(cut, 100u);  // the limit bites on many lines
  expect_dataset_equals(output, expected);
  EXPECT_EQ(result.output.find(" 0 truncated to 12"), std::string::npos) << result.output;
}

TEST_F(PrepareTranslation, JsonLinesInTheDatasetsLayoutAndTsvColumns) {
  DTRAIN_REQUIRE_PYTHON("transformers sentencepiece");
  const std::vector<std::string> english = read_lines(corpus_ / "val.en"),
                                 french = read_lines(corpus_ / "val.fr");
  const size_t count = 300;
  std::string jsonl, tsv = "id\ten\tfr\n", source_lines, target_lines;
  for (size_t i = 0; i < count; ++i) {
    jsonl +=
        json{{"id", std::to_string(i)}, {"translation", {{"en", english[i]}, {"fr", french[i]}}}}.dump() +
        "\n";
    tsv += std::to_string(i) + "\t" + english[i] + "\t" + french[i] + "\n";
    source_lines += english[i] + "\n";
    target_lines += french[i] + "\n";
  }
  write_file(*scratch_ / "kde.jsonl", jsonl);
  write_file(*scratch_ / "pairs.tsv", tsv);
  write_file(*scratch_ / "head.en", source_lines);
  write_file(*scratch_ / "head.fr", target_lines);
  const std::vector<ReferencePair> expected = reference(*scratch_ / "head.en", *scratch_ / "head.fr", 128);

  CommandResult result = dtrain(fmt::format(
      "prepare --task translation --tokenizer {} --input {} --source translation.en --target translation.fr "
      "--output {}",
      quoted(tokenizer()), quoted(*scratch_ / "kde.jsonl"), quoted(*scratch_ / "kde.h5")));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  expect_dataset_equals(*scratch_ / "kde.h5", expected);

  result = dtrain(
      fmt::format("prepare --task translation --tokenizer {} --input {} --source en --target fr --output {}",
                  quoted(tokenizer()), quoted(*scratch_ / "pairs.tsv"), quoted(*scratch_ / "pairs.h5")));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  expect_dataset_equals(*scratch_ / "pairs.h5", expected);
}

TEST_F(PrepareTranslation, BadInputIsOneLineNamingFileAndLineWithNoOutput) {
  ScratchDir dir;
  const auto prepare_files = [&](const std::string& source, const std::string& target) {
    write_file(dir / "a.en", source);
    write_file(dir / "a.fr", target);
    return dtrain(
        fmt::format("prepare --task translation --tokenizer {} --source-file {} --target-file {} --output {}",
                    quoted(tokenizer()), quoted(dir / "a.en"), quoted(dir / "a.fr"), quoted(dir / "out.h5")));
  };
  expect_one_line_error(prepare_files("A dog.\nA cat.\nA bird.\n", "Un chien.\nUn chat.\n"),
                        (dir / "a.en").string() + ":3: no line 3 in " + (dir / "a.fr").string());
  expect_one_line_error(prepare_files("A dog.\n", "Un chien.\nUn chat.\n"),
                        (dir / "a.fr").string() + ":2: no line 2 in " + (dir / "a.en").string());
  expect_one_line_error(prepare_files("A dog.\nA cat.\n", "Un chien.\n \n"),
                        (dir / "a.fr").string() + ":2: the line is empty");
  expect_one_line_error(prepare_files("A dog.\n\nA cat.\n", "Un chien.\nUn oiseau.\nUn chat.\n"),
                        (dir / "a.en").string() + ":2: the line is empty");
  expect_one_line_error(prepare_files("A dog.\nA \xC3\x28 cat.\n", "Un chien.\nUn chat.\n"),
                        (dir / "a.en").string() + ":2: the line is not valid UTF-8 (byte 2)");
  expect_one_line_error(prepare_files("", ""), "no data");

  write_file(dir / "t.jsonl",
             "{\"translation\": {\"en\": \"A dog.\", \"fr\": \"Un chien.\"}}\n"
             "{\"translation\": {\"en\": \"A cat.\", \"de\": \"Eine Katze.\"}}\n");
  expect_one_line_error(
      dtrain(
          fmt::format("prepare --task translation --tokenizer {} --input {} --source translation.en --target "
                      "translation.fr --output {}",
                      quoted(tokenizer()), quoted(dir / "t.jsonl"), quoted(dir / "out.h5"))),
      (dir / "t.jsonl").string() + ":2: no key 'translation.fr'");
  write_file(dir / "t.tsv", "en\tfr\nA dog.\tUn chien.\nA cat.\t\n");
  expect_one_line_error(
      dtrain(fmt::format(
          "prepare --task translation --tokenizer {} --input {} --source en --target fr --output {}",
          quoted(tokenizer()), quoted(dir / "t.tsv"), quoted(dir / "out.h5"))),
      (dir / "t.tsv").string() + ":3: column 'fr' is empty");

  // A BERT folder is no translation tokenizer.
  write_file(dir / "bert" / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\n");
  write_file(dir / "a.en", "A dog.\n");
  write_file(dir / "a.fr", "Un chien.\n");
  expect_one_line_error(
      dtrain(fmt::format(
          "prepare --task translation --tokenizer {} --source-file {} --target-file {} --output {}",
          quoted(dir / "bert"), quoted(dir / "a.en"), quoted(dir / "a.fr"), quoted(dir / "out.h5"))),
      "translation needs a Marian tokenizer folder");
  expect_one_line_error(
      dtrain(fmt::format("prepare --task translation --tokenizer {} --source-file {} --output {}",
                         quoted(tokenizer()), quoted(dir / "a.en"), quoted(dir / "out.h5"))),
      "--source-file and --target-file go together");
  expect_one_line_error(
      dtrain(fmt::format(
          "prepare --task translation --tokenizer {} --source-file {} --target-file {} --text-a x "
          "--output {}",
          quoted(tokenizer()), quoted(dir / "a.en"), quoted(dir / "a.fr"), quoted(dir / "out.h5"))),
      "--task translation takes --source and --target");
  EXPECT_FALSE(has_h5_files(dir.path()));
}

}  // namespace
}  // namespace dtrain::data
