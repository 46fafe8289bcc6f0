// The built `dtrain prepare` / `prepare-synthetic` / `inspect` commands: exit codes, one-line
// errors, no files left behind, h5py readability, and real GLUE files when ../shared/data exists.
#include <gtest/gtest.h>

#include <map>

#include "data/dataset/dataset_reader.h"
#include "data/tokenizers/bert_tokenizer.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {

using dtrain::testing::CommandResult;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

std::string quoted(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

CommandResult dtrain(const std::string& arguments) {
  return run_command(quoted(dtrain::testing::dtrain_binary()) + " " + arguments);
}

using dtrain::testing::python;

void expect_one_line_error(const CommandResult& result, const std::string& expected) {
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.output.rfind("dtrain: error: ", 0), 0u) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  EXPECT_NE(result.output.find(expected), std::string::npos) << result.output;
}

bool only_inputs_left(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".h5") != std::string::npos && name != "valid.h5") return false;
  }
  return true;
}

class PrepareCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir_ / "tok" / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\n");
  }
  // Runs prepare on `table` (rows under a first/second/label header); `options` replace or add to
  // the defaults.
  CommandResult prepare(const std::string& table, std::map<std::string, std::string> options) {
    write_file(dir_ / "in.tsv", "first\tsecond\tlabel\n" + table);
    std::map<std::string, std::string> all{{"--tokenizer", quoted(dir_ / "tok")},
                                           {"--input", quoted(dir_ / "in.tsv")},
                                           {"--output", quoted(dir_ / "out.h5")},
                                           {"--text-a", "first"},
                                           {"--text-b", "second"},
                                           {"--label", "label"}};
    options.merge(all);  // keys already in `options` win
    std::string arguments = "prepare";
    for (const auto& [option, value] : options) arguments += " " + option + " " + value;
    return dtrain(arguments);
  }
  ScratchDir dir_;
};

TEST_F(PrepareCli, WritesTheDatasetAndPrintsASummary) {
  const CommandResult result =
      prepare("the cat\tsat on the mat\tyes\nthe mat\tthe cat\tno\n", {{"--labels", "no,yes"}});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("in.tsv -> "), std::string::npos) << result.output;
  EXPECT_NE(
      result.output.find("2 rows, 16 tokens, length mean 8.0 max 9, 0 truncated to 128; labels no=1 yes=1"),
      std::string::npos)
      << result.output;
  EXPECT_EQ(DatasetReader(dir_ / "out.h5").num_samples(), 2);
  const CommandResult inspect = dtrain("inspect " + quoted(dir_ / "out.h5"));
  EXPECT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("classification, 2 labels no,yes\nsamples 2, tokens 16"), std::string::npos)
      << inspect.output;
}

TEST_F(PrepareCli, BadInputsFailWithOneLineAndNoOutputFile) {
  const struct {
    std::string table;
    std::map<std::string, std::string> options;
    std::string expected;
  } cases[] = {
      {"the cat\tthe mat\t1\n", {{"--input", "/nonexistent/x.tsv"}}, "/nonexistent/x.tsv: no such file"},
      {"the cat\tthe mat\t1\n",
       {{"--label", "gold"}},
       "in.tsv: unknown column 'gold' (header: first, second, label)"},
      {"the cat\tthe mat\t1\nthe cat\n", {}, "in.tsv:3: row has 1 fields"},
      {"the cat\tthe mat\tmaybe\n",
       {{"--labels", "no,yes"}},
       "in.tsv:2: label 'maybe' is not in --labels (no,yes)"},
      {"the cat\tthe mat\tx1\n",
       {{"--task", "regression"}},
       "in.tsv:2: regression target 'x1' is not a number"},
      {"the \xFF cat\tthe mat\t1\n", {}, "in.tsv:2: column 'first' is not valid UTF-8 (byte 4)"},
      {"the cat\t\t1\n", {}, "in.tsv:2: column 'second' is empty"},
      {"the cat\tthe mat\t1\n", {{"--max-length", "2"}}, "--max-length 2 is too small"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expected);
    expect_one_line_error(prepare(c.table, c.options), c.expected);
    EXPECT_TRUE(only_inputs_left(dir_.path()));
  }
}

TEST_F(PrepareCli, BrokenDatasetsFailInspectWithOneLine) {
  ASSERT_EQ(
      prepare("the cat\tthe mat\t1\nthe mat\tsat\t0\n", {{"--output", quoted(dir_ / "valid.h5")}}).exit_code,
      0);
  const auto valid = dir_ / "valid.h5";
  std::filesystem::copy_file(valid, dir_ / "cut.h5");
  std::filesystem::resize_file(dir_ / "cut.h5", std::filesystem::file_size(valid) / 2);
  expect_one_line_error(dtrain("inspect " + quoted(dir_ / "cut.h5")), "cut.h5: the file has ");

  // Each variant is the valid file edited with h5py and given a new checksum header by
  // tests/reference/dataset_h5py.py (h5py and hashlib alone can write our layout), but the first,
  // which is edited without one.
  const std::pair<std::string, std::string> edits[] = {
      {"", "checksum mismatch"},  // edited, not resealed
      {"del f['offsets']", "dataset /offsets is missing"},
      {"f.attrs['format_version'] = 3", "format version 3 is newer than this dtrain (2)"},
      {"f['input_ids'][8] = 10", "sample 1 has token id 10 outside the vocabulary (size 10)"},
      {"f['token_type_ids'][1] = 2", "sample 0 has token type 2 (expected 0 or 1)"},
      {"f['token_type_ids'][1] = 1", "sample 0: token 2 has token type 0 after a token of type 1"},
      {"f['token_type_ids'][3] = 1",
       "sample 0: its first segment (token type 0) does not end with [SEP] (3)"},
      {"f['input_ids'][0] = 5", "sample 0: starts with token 5 instead of [CLS] (2)"},
      {"f['labels'][1] = 2", "sample 1 has label 2, outside [0, 2)"},
  };
  const std::string tool = python() + " " + quoted(testing::source_dir() / "tests/reference/dataset_h5py.py");
  for (const auto& [edit, expected] : edits) {
    SCOPED_TRACE(edit);
    const auto broken = dir_ / "broken.h5";
    std::filesystem::copy_file(valid, broken, std::filesystem::copy_options::overwrite_existing);
    const CommandResult edited =
        edit.empty() ? run_command(python() + " -c \"import h5py; f = h5py.File('" + broken.string() +
                                   "', 'r+'); f['input_ids'][8] = 9; f.close()\"")
                     : run_command(tool + " edit " + quoted(broken) + " \"" + edit + "\"");
    ASSERT_EQ(edited.exit_code, 0) << edited.output;
    expect_one_line_error(dtrain("inspect " + quoted(broken)), expected);
  }
}

// h5py alone (no dtrain code) reads a prepared file and checks it against the TSV it came from.
TEST(PrepareCliSynthetic, PreparedFilesReadWithH5py) {
  ScratchDir dir;
  const CommandResult result =
      dtrain("prepare-synthetic --output " + quoted(dir / "synth") + " --train-rows 300 --dev-rows 50");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  write_file(dir / "check.py", R"(import csv, json, sys
import h5py
folder = sys.argv[1]
vocab = open(folder + '/tokenizer/vocab.txt').read().split('\n')
rows = list(csv.reader(open(folder + '/train.tsv'), delimiter='\t'))[1:]
with h5py.File(folder + '/train.h5', 'r') as f:
    ids, types, offsets, labels = (f[name][:] for name in ('input_ids', 'token_type_ids', 'offsets', 'labels'))
    assert (ids.dtype, types.dtype, offsets.dtype, labels.dtype) == ('int32', 'int8', 'int64', 'int64')
    attrs = {name: value.decode() if isinstance(value, bytes) else value for name, value in f.attrs.items()}
    assert attrs['format'] == 'dtrain.tokenized' and attrs['format_version'] == 2, dict(attrs)
    assert attrs['task'] == 'classification' and attrs['num_labels'] == 2 and len(attrs['label_names']) == 0
    assert list(attrs['token_streams']) == [b'input_ids', b'token_type_ids'], attrs['token_streams']
    assert attrs['eos_id'] == -1 and attrs['tokenizer_type'] == 'bert'
    assert all(f[name].fletcher32 for name in ('input_ids', 'token_type_ids', 'offsets', 'labels'))
    assert attrs['vocab_size'] == len([t for t in vocab if t]) and attrs['max_length'] == 64
    assert vocab[attrs['cls_id']] == '[CLS]' and vocab[attrs['sep_id']] == '[SEP]' and vocab[attrs['pad_id']] == '[PAD]'
    assert attrs['source_file'] == 'train.tsv' and json.loads(attrs['tokenizer_settings'])['lowercase']
    assert attrs['num_samples'] == len(rows) == len(labels) == len(offsets) - 1
    assert offsets[0] == 0 and offsets[-1] == len(ids) == len(types) == attrs['total_tokens']
    for i, (first, second, label) in enumerate(rows):
        tokens = [vocab[t] for t in ids[offsets[i]:offsets[i + 1]]]
        segment = list(types[offsets[i]:offsets[i + 1]])
        split = tokens.index('[SEP]')
        assert tokens[0] == '[CLS]' and tokens[-1] == '[SEP]', tokens
        assert ' '.join(tokens[1:split]) == first and ' '.join(tokens[split + 1:-1]) == second, (tokens, first, second)
        assert segment == [0] * (split + 1) + [1] * (len(tokens) - split - 1), segment
        assert labels[i] == int(label)
print('checked', len(rows), 'rows')
)");
  const CommandResult check =
      run_command(python() + " " + quoted(dir / "check.py") + " " + quoted(dir / "synth"));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("checked 300 rows"), std::string::npos) << check.output;
}

TEST(PrepareCliGlue, PreparesMrpcRteStsbAndCola) {
  DTRAIN_REQUIRE_SHARED_DATA(data);
  ScratchDir dir;
  const auto glue = data / "glue";
  const std::string tokenizer = " --tokenizer " + quoted(data / "vocab" / "bert-base-uncased");
  struct Case {
    std::string name, arguments, summary;
  } cases[] = {
      {"mrpc",
       "--input " + quoted(glue / "MRPC" / "dev.tsv") +
           " --text-a '#1 String' --text-b '#2 String' --label Quality",
       "408 rows"},
      {"rte",
       "--input " + quoted(glue / "RTE" / "dev.tsv") +
           " --text-a sentence1 --text-b sentence2 --label label --labels entailment,not_entailment",
       "277 rows"},
      {"stsb",
       "--input " + quoted(glue / "STS-B" / "dev.tsv") +
           " --text-a sentence1 --text-b sentence2 --label score --task regression",
       "1500 rows"},
      {"cola", "--input " + quoted(glue / "CoLA" / "dev.tsv") + " --no-header --text-a 3 --label 1",
       "1043 rows"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const CommandResult result =
        dtrain("prepare" + tokenizer + " --output " + quoted(dir / (c.name + ".h5")) + " " + c.arguments);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find(c.summary), std::string::npos) << result.output;
  }

  // The stored ids are the tokenizer's, row for row (MRPC's first dev row).
  const auto bert = BertTokenizer::from_folder(data / "vocab" / "bert-base-uncased");
  DatasetReader mrpc(dir / "mrpc.h5");
  mrpc.check_vocabulary(bert.vocab_size(), bert.vocab_sha256());
  const Encoding expected = bert.encode(
      "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .",
      "\" The foodservice pie business does not fit our long-term growth strategy .", 128);
  const SampleBlock first = mrpc.read({0});
  EXPECT_EQ(first.input_ids, expected.input_ids);
  EXPECT_EQ(first.token_type_ids, expected.token_type_ids);
  EXPECT_EQ(first.class_labels, std::vector<int64_t>{1});
  EXPECT_EQ(DatasetReader(dir / "rte.h5").info().label_names,
            (std::vector<std::string>{"entailment", "not_entailment"}));
  EXPECT_EQ(DatasetReader(dir / "stsb.h5").read({0}).regression_labels, std::vector<float>{5.0f});
  EXPECT_EQ(DatasetReader(dir / "cola.h5").info().num_labels, 2);
}

}  // namespace
}  // namespace dtrain::data
