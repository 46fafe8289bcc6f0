// dtrain prepare as a library: what lands in the dataset, and one clear error per kind of bad input.
#include "data/dataset/prepare.h"

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "data/dataset/dataset_reader.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {

using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

BertTokenizer tiny_tokenizer() {
  return BertTokenizer(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "##s"},
      TokenizerSettings{});
}

PrepareOptions pair_options(const ScratchDir& dir, const std::string& table) {
  PrepareOptions options;
  options.input = dir / table;
  options.output = dir / "out.h5";
  options.text_a = "first";
  options.text_b = "second";
  options.label = "label";
  options.max_length = 16;
  options.threads = 2;
  return options;
}

// The folder holds only the input table afterwards: no output, no temp file.
void expect_only_input_left(const ScratchDir& dir) {
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
    EXPECT_EQ(entry.path().extension(), ".tsv") << entry.path();
  }
  EXPECT_EQ(entries, 1);
}

TEST(Prepare, PairsWithNamedLabelsMatchTheTokenizer) {
  ScratchDir dir;
  write_file(dir / "t.tsv", "first\tsecond\tlabel\nThe cat sat\tthe dogs\tyes\nCat on the mat\tdog\tno\n");
  PrepareOptions options = pair_options(dir, "t.tsv");
  options.label_names = {"no", "yes"};
  const PrepareSummary summary = prepare_dataset(options, tiny_tokenizer());
  EXPECT_EQ(summary.rows, 2);
  EXPECT_EQ(summary.tokens, 17);
  EXPECT_EQ(summary.label_counts, (std::vector<int64_t>{1, 1}));

  DatasetReader reader(options.output);
  EXPECT_EQ(reader.info().num_labels, 2);
  EXPECT_EQ(reader.info().label_names, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(reader.info().vocab_size, 12);
  EXPECT_EQ(reader.info().source_file, "t.tsv");
  EXPECT_EQ(reader.info().source_sha256, dtrain::sha256_file_hex(dir / "t.tsv"));
  EXPECT_EQ(reader.info().vocab_sha256, tiny_tokenizer().vocab_sha256());
  const SampleBlock block = reader.read({0, 1});
  // [CLS] the cat sat [SEP] the dog ##s [SEP] | [CLS] cat on the mat [SEP] dog [SEP]
  EXPECT_EQ(block.input_ids, (std::vector<int32_t>{2, 5, 6, 7, 3, 5, 10, 11, 3, 2, 6, 8, 5, 9, 3, 10, 3}));
  EXPECT_EQ(block.token_type_ids, (std::vector<int8_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(block.class_labels, (std::vector<int64_t>{1, 0}));
}

TEST(Prepare, CountsTruncatedRowsAndIntegerLabels) {
  ScratchDir dir;
  write_file(dir / "t.tsv", "first\tsecond\tlabel\nthe cat\tthe mat\t0\nthe cat sat on\tthe mat\t2\n");
  PrepareOptions options = pair_options(dir, "t.tsv");
  options.max_length = 7;  // row 1 fits exactly, row 2 is cut
  const PrepareSummary summary = prepare_dataset(options, tiny_tokenizer());
  EXPECT_EQ(summary.truncated, 1);
  EXPECT_EQ(summary.longest, 7);
  DatasetReader reader(options.output);
  EXPECT_EQ(reader.info().num_labels, 3);  // largest integer label + 1
  EXPECT_EQ(reader.offsets(), (std::vector<int64_t>{0, 7, 14}));
}

TEST(Prepare, ThreadCountDoesNotChangeTheOutput) {
  ScratchDir dir;
  const char* words[] = {"the", "cat", "sat", "on", "mat", "dogs"};
  std::string table = "first\tsecond\tlabel\n";
  for (int row = 0; row < 5000; ++row) {
    for (int w = 0; w <= row % 9; ++w) table += std::string(w ? " " : "") + words[(row + w) % 6];
    table += std::string("\t") + words[row % 5] + "\t" + std::to_string(row % 2) + "\n";
  }
  write_file(dir / "t.tsv", table);
  PrepareOptions one = pair_options(dir, "t.tsv"), three = one;
  one.threads = 1;
  one.output = dir / "one.h5";
  three.threads = 3;
  three.output = dir / "three.h5";
  prepare_dataset(one, tiny_tokenizer());
  prepare_dataset(three, tiny_tokenizer());
  DatasetReader a(one.output), b(three.output);
  std::vector<int64_t> all(5000);
  for (int64_t i = 0; i < 5000; ++i) all[i] = i;
  EXPECT_EQ(a.offsets(), b.offsets());
  EXPECT_EQ(a.read(all).input_ids, b.read(all).input_ids);
  EXPECT_EQ(a.read(all).class_labels, b.read(all).class_labels);
}

TEST(Prepare, RegressionFromJsonlAndCsv) {
  ScratchDir dir;
  write_file(dir / "t.jsonl", "{\"a\": \"the cat\", \"score\": 4.5}\n{\"a\": \"the dog\", \"score\": 1}\n");
  write_file(dir / "t.csv", "a,score\n\"the cat, on the mat\",0.25\n");
  for (const char* table : {"t.jsonl", "t.csv"}) {
    PrepareOptions options;
    options.input = dir / table;
    options.output = dir / (std::string(table) + ".h5");
    options.text_a = "a";
    options.label = "score";
    options.task = TaskType::regression;
    prepare_dataset(options, tiny_tokenizer());
    DatasetReader reader(options.output);
    EXPECT_EQ(reader.info().task, TaskType::regression);
    EXPECT_EQ(reader.info().num_labels, 1);
    EXPECT_EQ(reader.read({0}).regression_labels[0], std::string(table) == "t.csv" ? 0.25f : 4.5f);
  }
}

struct BadInput {
  const char* name;
  std::string table;
  std::function<void(PrepareOptions&)> adjust;
  std::string expected;
};

class PrepareRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(PrepareRejects, WithFileLineAndNoOutput) {
  ScratchDir dir;
  write_file(dir / "t.tsv", GetParam().table);
  PrepareOptions options = pair_options(dir, "t.tsv");
  GetParam().adjust(options);
  EXPECT_DTRAIN_ERROR(prepare_dataset(options, tiny_tokenizer()), GetParam().expected);
  expect_only_input_left(dir);
}

const std::string kHeader = "first\tsecond\tlabel\n";
INSTANTIATE_TEST_SUITE_P(
    BadInputs, PrepareRejects,
    ::testing::Values(
        BadInput{"MissingFile", kHeader,
                 [](PrepareOptions& o) { o.input = o.input.parent_path() / "none.tsv"; },
                 "none.tsv: no such file"},
        BadInput{"UnknownColumn", kHeader + "a\tb\t0\n", [](PrepareOptions& o) { o.label = "gold"; },
                 "t.tsv: unknown column 'gold'"},
        BadInput{"TooFewFields", kHeader + "the cat\tthe dog\t1\nthe cat\t1\n", [](PrepareOptions&) {},
                 "t.tsv:3: row has 2 fields, but column 'label' is field 2"},
        BadInput{"LabelNotInLabels", kHeader + "the cat\tthe dog\tyes\nthe\tcat\tmaybe\n",
                 [](PrepareOptions& o) {
                   o.label_names = {"no", "yes"};
                 },
                 "t.tsv:3: label 'maybe' is not in --labels (no,yes)"},
        BadInput{"NonIntegerLabel", kHeader + "the cat\tthe dog\tyes\n", [](PrepareOptions&) {},
                 "t.tsv:2: label 'yes' is not a non-negative integer"},
        BadInput{"NonNumericTarget", kHeader + "the cat\tthe dog\t4.0\nthe\tcat\thigh\n",
                 [](PrepareOptions& o) { o.task = TaskType::regression; },
                 "t.tsv:3: regression target 'high' is not a number"},
        BadInput{"InvalidUtf8", kHeader + "the cat\tthe \xC3\x28 dog\t1\n", [](PrepareOptions&) {},
                 "t.tsv:2: column 'second' is not valid UTF-8 (byte 4)"},
        BadInput{"EmptyText", kHeader + "the cat\tthe dog\t1\n \tthe dog\t0\n", [](PrepareOptions&) {},
                 "t.tsv:3: column 'first' is empty"},
        BadInput{"MaxLengthTooSmall", kHeader + "the cat\tthe dog\t1\n",
                 [](PrepareOptions& o) { o.max_length = 3; },
                 "--max-length 3 is too small: 3 special tokens plus at least one text token need 4"},
        BadInput{"NoRows", kHeader, [](PrepareOptions&) {}, "t.tsv: no data rows"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

TEST(Prepare, ReportsTheEarliestBadRowWhateverTheThreads) {
  ScratchDir dir;
  std::string table = kHeader;
  for (int row = 0; row < 3000; ++row)
    table += row == 2100 || row == 2900 ? "the\tcat\tbad\n" : "the\tcat\t1\n";
  write_file(dir / "t.tsv", table);
  PrepareOptions options = pair_options(dir, "t.tsv");
  options.threads = 4;
  EXPECT_DTRAIN_ERROR(prepare_dataset(options, tiny_tokenizer()), "t.tsv:2102: label 'bad'");
}

}  // namespace
}  // namespace dtrain::data
