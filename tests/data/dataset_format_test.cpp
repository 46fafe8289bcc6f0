// Format 2 against independent references: h5py and hashlib read what dtrain writes (checksum
// header, streams, attributes, filters), dtrain reads format-1 files that h5py writes to the old
// contract, and translation batches equal transformers' DataCollatorForSeq2Seq on the same ids.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "data/dataset/dataset_reader.h"
#include "data/dataset/dataset_writer.h"
#include "data/loading/collate.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {

using dtrain::testing::CommandResult;
using dtrain::testing::python;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;
using nlohmann::json;

std::string quoted(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

std::string reference_script(const std::string& name) {
  return python() + " " + quoted(testing::source_dir() / "tests" / "reference" / name);
}

json run_json(const std::string& command) {
  const CommandResult result = run_command(command + " 2>&1");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  const size_t last_line = result.output.rfind('\n', result.output.size() - 2);
  return json::parse(result.output.substr(last_line == std::string::npos ? 0 : last_line + 1));
}

// Random translation samples: source and target ids ending with EOS (0), lengths 1..max.
struct TranslationSamples {
  std::vector<std::vector<int32_t>> sources, targets;
};

TranslationSamples random_translation_samples(int count, uint64_t seed) {
  std::mt19937_64 random(seed);
  TranslationSamples samples;
  for (int i = 0; i < count; ++i) {
    for (auto* side : {&samples.sources, &samples.targets}) {
      std::vector<int32_t> ids(1 + random() % 13);
      for (auto& id : ids) id = static_cast<int32_t>(1 + random() % 40);
      ids.back() = 0;
      side->push_back(std::move(ids));
    }
  }
  return samples;
}

DatasetInfo translation_info() {
  DatasetInfo info;
  info.task = TaskType::translation;
  info.vocab_size = 42;
  info.target_vocab_size = 42;
  info.pad_id = 41;
  info.cls_id = kNoTokenId;
  info.sep_id = kNoTokenId;
  info.eos_id = 0;
  info.decoder_start_token_id = 41;
  info.max_length = 16;
  info.max_target_length = 16;
  info.tokenizer_type = "marian";
  info.tokenizer_settings_json = R"({"source_spm":"source.spm"})";
  info.vocab_sha256 = info.target_vocab_sha256 = "0123";
  info.source_file = "pairs.tsv";
  return info;
}

void write_translation(const std::filesystem::path& path, const TranslationSamples& samples) {
  DatasetWriter writer(path, DatasetLayout{TaskType::translation, 42, false, 42});
  for (size_t i = 0; i < samples.sources.size(); ++i)
    writer.add_translation(samples.sources[i], samples.targets[i]);
  writer.commit(translation_info());
}

template <class T>
std::vector<int64_t> flat(const std::vector<std::vector<T>>& rows) {
  std::vector<int64_t> values;
  for (const auto& row : rows) values.insert(values.end(), row.begin(), row.end());
  return values;
}

std::vector<int64_t> offsets_of(const std::vector<std::vector<int32_t>>& rows) {
  std::vector<int64_t> offsets{0};
  for (const auto& row : rows) offsets.push_back(offsets.back() + static_cast<int64_t>(row.size()));
  return offsets;
}

TEST(DatasetFormat2, TranslationFileReadsWithH5pyAlone) {
  DTRAIN_REQUIRE_PYTHON("h5py numpy");
  ScratchDir dir;
  const TranslationSamples samples = random_translation_samples(200, 1);
  write_translation(dir / "t.h5", samples);
  const json file = run_json(reference_script("dataset_h5py.py") + " dump " + quoted(dir / "t.h5"));

  EXPECT_EQ(file["header"]["size"], std::filesystem::file_size(dir / "t.h5"));
  const json& attrs = file["attrs"];
  EXPECT_EQ(attrs["format"], "dtrain.tokenized");
  EXPECT_EQ(attrs["format_version"], 2);
  EXPECT_EQ(attrs["task"], "translation");
  EXPECT_EQ(attrs["token_streams"], json::array({"input_ids", "labels"}));
  EXPECT_EQ(attrs["tokenizer_type"], "marian");
  EXPECT_EQ(attrs["tokenizer_settings"], R"({"source_spm":"source.spm"})");
  EXPECT_EQ(attrs["pad_id"], 41);
  EXPECT_EQ(attrs["eos_id"], 0);
  EXPECT_EQ(attrs["cls_id"], -1);
  EXPECT_EQ(attrs["decoder_start_token_id"], 41);
  EXPECT_EQ(attrs["target_vocab_size"], 42);
  EXPECT_EQ(attrs["num_samples"], 200);
  EXPECT_EQ(attrs["total_tokens"], flat(samples.sources).size());
  EXPECT_EQ(attrs["total_target_tokens"], flat(samples.targets).size());
  EXPECT_EQ(attrs["label_names"], json::array());
  for (const auto& [name, kind] : file["attr_types"].items()) EXPECT_NE(kind, "vlen") << name;

  const json& datasets = file["datasets"];
  EXPECT_EQ(datasets.size(), 4u) << datasets.dump();
  EXPECT_EQ(datasets["input_ids"].get<std::vector<int64_t>>(), flat(samples.sources));
  EXPECT_EQ(datasets["offsets"].get<std::vector<int64_t>>(), offsets_of(samples.sources));
  EXPECT_EQ(datasets["labels"].get<std::vector<int64_t>>(), flat(samples.targets));
  EXPECT_EQ(datasets["label_offsets"].get<std::vector<int64_t>>(), offsets_of(samples.targets));
  EXPECT_EQ(file["dtypes"]["labels"], "int32");
  for (const auto& [name, filters] : file["filters"].items()) {
    EXPECT_EQ(filters, json::array({"fletcher32", "gzip", "shuffle"})) << name;
  }
}

TEST(DatasetFormat2, InspectShowsAndChecksBothStreamsOfATranslationFile) {
  ScratchDir dir;
  TranslationSamples samples = random_translation_samples(50, 2);
  write_translation(dir / "t.h5", samples);
  const auto inspect = [](const std::filesystem::path& file) {
    return run_command(quoted(testing::dtrain_binary()) + " inspect " + quoted(file));
  };
  const CommandResult good = inspect(dir / "t.h5");
  EXPECT_EQ(good.exit_code, 0) << good.output;
  const std::vector<int64_t> sources = flat(samples.sources), targets = flat(samples.targets);
  for (const std::string& part : {fmt::format("format dtrain.tokenized v2, translation\nsamples 50, tokens "
                                              "{}, max_length 16, target tokens {}, "
                                              "max_target_length 16\nchecksum sha256 ",
                                              sources.size(), targets.size()),
                                  fmt::format("stream input_ids: {} tokens", sources.size()),
                                  fmt::format("stream labels: {} tokens", targets.size()),
                                  std::string("pad/cls/sep/eos 41/-/-/0, decoder_start_token_id 41"),
                                  std::string("tokenizer marian")}) {
    EXPECT_NE(good.output.find(part), std::string::npos) << part << " in:\n" << good.output;
  }
  samples.targets[7].back() = 5;
  write_translation(dir / "no-eos.h5", samples);
  const CommandResult bad = inspect(dir / "no-eos.h5");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.output, "dtrain: error: " + (dir / "no-eos.h5").string() +
                            ": sample 7: its target does not end with EOS (0)\n");
}

// A format-1 file written by h5py to the old contract (variable-length strings, no checksum header)
// reads like before: it is first read in a child process, then opened.
TEST(DatasetFormat1, FilesWrittenToTheOldContractStillRead) {
  DTRAIN_REQUIRE_PYTHON("h5py numpy");
  ScratchDir dir;
  const json description = {{"attrs",
                             {{"format", "dtrain.tokenized"},
                              {"format_version", 1},
                              {"task", "classification"},
                              {"num_labels", 2},
                              {"label_names", {"no", "yes"}},
                              {"vocab_size", 10},
                              {"pad_id", 0},
                              {"cls_id", 2},
                              {"sep_id", 3},
                              {"max_length", 8},
                              {"vocab_sha256", "abc"},
                              {"source_file", "t.tsv"},
                              {"source_sha256", "def"},
                              {"tokenizer_settings", R"({"lowercase":true})"},
                              {"num_samples", 2},
                              {"total_tokens", 8}}},
                            {"datasets",
                             {{"input_ids", {2, 5, 3, 2, 6, 3, 7, 3}},
                              {"token_type_ids", {0, 0, 0, 0, 0, 0, 1, 1}},
                              {"offsets", {0, 3, 8}},
                              {"labels", {1, 0}}}}};
  testing::write_file(dir / "v1.json", description.dump());
  const CommandResult written = run_command(reference_script("dataset_h5py.py") + " write-v1 " +
                                            quoted(dir / "v1.json") + " " + quoted(dir / "v1.h5"));
  ASSERT_EQ(written.exit_code, 0) << written.output;

  for (const Verification verification : {Verification::at_open, Verification::everything}) {
    DatasetReader reader(dir / "v1.h5", verification);
    const DatasetInfo& info = reader.info();
    EXPECT_EQ(info.format_version, 1);
    EXPECT_FALSE(reader.integrity().checksum_header);
    EXPECT_EQ(info.label_names, (std::vector<std::string>{"no", "yes"}));
    EXPECT_EQ(info.tokenizer_settings_json, R"({"lowercase":true})");
    EXPECT_TRUE(info.has_token_type_ids);
    EXPECT_EQ(info.eos_id, kNoTokenId);
    const SampleBlock block = reader.read({1, 0});
    EXPECT_EQ(block.input_ids, (std::vector<int32_t>{2, 6, 3, 7, 3, 2, 5, 3}));
    EXPECT_EQ(block.token_type_ids, (std::vector<int8_t>{0, 0, 0, 1, 1, 0, 0, 0}));
    EXPECT_EQ(block.class_labels, (std::vector<int64_t>{0, 1}));
  }
  // Format 1 files' errors still come from the reader's checks, now through the child process.
  json bad = description;
  bad["datasets"]["labels"] = {1, 2};
  testing::write_file(dir / "bad.json", bad.dump());
  ASSERT_EQ(run_command(reference_script("dataset_h5py.py") + " write-v1 " + quoted(dir / "bad.json") + " " +
                        quoted(dir / "bad.h5"))
                .exit_code,
            0);
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "bad.h5"), "bad.h5: sample 1 has label 2, outside [0, 2)");
}

// dtrain's batches of a translation dataset against DataCollatorForSeq2Seq with a MarianMTModel
// (which supplies decoder_input_ids, as under Trainer), on the ids read back from the file.
TEST(Seq2SeqCollation, MatchesDataCollatorForSeq2Seq) {
  DTRAIN_REQUIRE_PYTHON("transformers torch tokenizers");
  ScratchDir dir;
  const TranslationSamples samples = random_translation_samples(64, 7);
  write_translation(dir / "t.h5", samples);
  const DatasetReader reader(dir / "t.h5");
  std::mt19937_64 random(3);
  std::vector<std::vector<int64_t>> batches;
  for (const int size : {1, 3, 8, 16, 5}) {
    std::vector<int64_t> indices(static_cast<size_t>(size));
    for (auto& index : indices) index = static_cast<int64_t>(random() % samples.sources.size());
    batches.push_back(indices);
  }
  const std::vector<int64_t> multiples{0, 8, 5};
  json spec = {{"pad_id", 41}, {"decoder_start_token_id", 41}, {"vocab_size", 42}, {"runs", json::array()}};
  std::vector<std::vector<Batch>> ours;
  for (const int64_t multiple : multiples) {
    json run = {{"pad_to_multiple_of", multiple == 0 ? json(nullptr) : json(multiple)},
                {"batches", json::array()}};
    ours.emplace_back();
    for (const auto& indices : batches) {
      json features = json::array();
      for (const int64_t i : indices) {
        features.push_back({{"input_ids", samples.sources[i]}, {"labels", samples.targets[i]}});
      }
      run["batches"].push_back(features);
      ours.back().push_back(collate(reader.read(indices), collate_options(reader.info(), multiple)));
    }
    spec["runs"].push_back(run);
  }
  testing::write_file(dir / "spec.json", spec.dump());
  const json reference = run_json(reference_script("seq2seq_collator.py") + " " + quoted(dir / "spec.json"));
  ASSERT_EQ(reference.size(), multiples.size());
  const auto rows = [](const std::vector<int64_t>& cells, int64_t width) {
    std::vector<std::vector<int64_t>> out;
    for (size_t at = 0; at < cells.size(); at += static_cast<size_t>(width))
      out.emplace_back(cells.begin() + at, cells.begin() + at + width);
    return out;
  };
  for (size_t r = 0; r < multiples.size(); ++r) {
    ASSERT_EQ(reference[r].size(), ours[r].size());
    for (size_t b = 0; b < ours[r].size(); ++b) {
      SCOPED_TRACE(fmt::format("pad_to_multiple_of {}, batch {}", multiples[r], b));
      const Batch& batch = ours[r][b];
      const json& expected = reference[r][b];
      EXPECT_EQ(json(rows(batch.input_ids, batch.seq_len)), expected["input_ids"]);
      EXPECT_EQ(json(rows(batch.attention_mask, batch.seq_len)), expected["attention_mask"]);
      EXPECT_EQ(json(rows(batch.labels, batch.target_len)), expected["labels"]);
      EXPECT_EQ(json(rows(batch.decoder_input_ids, batch.target_len)), expected["decoder_input_ids"]);
      if (multiples[r] > 1) {
        EXPECT_EQ(batch.seq_len % multiples[r], 0);
        EXPECT_EQ(batch.target_len % multiples[r], 0);
      }
    }
  }
}

}  // namespace
}  // namespace dtrain::data
