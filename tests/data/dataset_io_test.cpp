// Writing and reading prepared datasets: round trips, random access, and every way a dataset file
// can be unusable (each must be a one-line error naming the file).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "data/dataset/dataset_attributes.h"
#include "data/dataset/dataset_reader.h"
#include "data/dataset/dataset_writer.h"
#include "data/dataset/hdf5.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {

using dtrain::testing::ScratchDir;

DatasetInfo classification_info(int vocab_size) {
  DatasetInfo info;
  info.task = TaskType::classification;
  info.num_labels = 3;
  info.label_names = {"neg", "neutral", "pos"};
  info.vocab_size = vocab_size;
  info.pad_id = 0;
  info.cls_id = 2;
  info.sep_id = 3;
  info.max_length = 16;
  info.vocab_sha256 = "abc123";
  info.source_file = "train.tsv";
  info.source_sha256 = "def456";
  info.tokenizer_settings_json = R"({"lowercase":true})";
  return info;
}

Encoding encoding(std::vector<int32_t> ids, int first_segment_length) {
  Encoding result{std::move(ids), {}};
  for (size_t i = 0; i < result.input_ids.size(); ++i) {
    result.token_type_ids.push_back(static_cast<int8_t>(static_cast<int>(i) >= first_segment_length));
  }
  return result;
}

bool has_temp_files(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return true;
  }
  return false;
}

TEST(DatasetIo, ClassificationRoundTrip) {
  ScratchDir dir;
  const auto path = dir / "d.h5";
  {
    DatasetWriter writer(path, TaskType::classification, 10);
    writer.add(encoding({2, 5, 3}, 3), int64_t{2});
    writer.add(encoding({2, 6, 7, 3, 8, 3}, 4), int64_t{0});
    writer.add(encoding({2, 9, 3}, 3), int64_t{1});
    EXPECT_FALSE(std::filesystem::exists(path));  // nothing at the final name until commit
    writer.commit(classification_info(10));
  }
  EXPECT_FALSE(has_temp_files(dir.path()));

  DatasetReader reader(path);
  const DatasetInfo& info = reader.info();
  EXPECT_EQ(info.format_version, kFormatVersion);
  EXPECT_EQ(info.num_samples, 3);
  EXPECT_EQ(info.total_tokens, 12);
  EXPECT_EQ(info.label_names, (std::vector<std::string>{"neg", "neutral", "pos"}));
  EXPECT_EQ(info.cls_id, 2);
  EXPECT_EQ(info.sep_id, 3);
  EXPECT_EQ(info.max_length, 16);
  EXPECT_EQ(info.vocab_sha256, "abc123");
  EXPECT_EQ(info.source_file, "train.tsv");
  EXPECT_EQ(info.source_sha256, "def456");
  EXPECT_EQ(info.tokenizer_settings_json, R"({"lowercase":true})");
  EXPECT_EQ(reader.offsets(), (std::vector<int64_t>{0, 3, 9, 12}));
  EXPECT_EQ(reader.sample_length(1), 6);

  const SampleBlock block = reader.read({2, 1, 2});  // any order, repeats allowed
  EXPECT_EQ(block.starts, (std::vector<int64_t>{0, 3, 9, 12}));
  EXPECT_EQ(block.input_ids, (std::vector<int32_t>{2, 9, 3, 2, 6, 7, 3, 8, 3, 2, 9, 3}));
  EXPECT_EQ(block.token_type_ids, (std::vector<int8_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0}));
  EXPECT_EQ(block.class_labels, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_TRUE(block.regression_labels.empty());
  EXPECT_DTRAIN_ERROR(reader.read({3}), "d.h5: sample index 3 is out of range (num_samples 3)");
}

TEST(DatasetIo, RegressionRoundTripWithoutLabelNames) {
  ScratchDir dir;
  DatasetInfo info = classification_info(10);
  info.task = TaskType::regression;
  info.num_labels = 1;
  info.label_names.clear();
  {
    DatasetWriter writer(dir / "r.h5", TaskType::regression, 10);
    writer.add(encoding({2, 4, 3}, 3), 4.75f);
    writer.add(encoding({2, 5, 3}, 3), 0.25f);
    writer.commit(info);
  }
  DatasetReader reader(dir / "r.h5");
  EXPECT_EQ(reader.info().task, TaskType::regression);
  EXPECT_TRUE(reader.info().label_names.empty());
  const SampleBlock block = reader.read({1, 0});
  EXPECT_EQ(block.regression_labels, (std::vector<float>{0.25f, 4.75f}));
  EXPECT_TRUE(block.class_labels.empty());
}

TEST(DatasetIo, RandomBatchesMatchWhatWasWritten) {
  ScratchDir dir;
  std::mt19937 random(7);
  std::vector<std::vector<int32_t>> samples(20000);
  {
    DatasetWriter writer(dir / "big.h5", TaskType::classification, 30000);
    for (size_t i = 0; i < samples.size(); ++i) {
      samples[i].resize(2 + random() % 100);  // ~1M tokens: crosses the writer's flush size
      for (auto& id : samples[i]) id = static_cast<int32_t>(random() % 30000);
      writer.add(encoding(samples[i], 1), static_cast<int64_t>(i % 3));
    }
    writer.commit(classification_info(30000));
  }
  DatasetReader reader(dir / "big.h5");
  for (int batch = 0; batch < 50; ++batch) {
    std::vector<int64_t> indices(32);
    for (auto& index : indices) index = random() % samples.size();
    const SampleBlock block = reader.read(indices);
    for (size_t j = 0; j < indices.size(); ++j) {
      const std::vector<int32_t> got(block.input_ids.begin() + block.starts[j],
                                     block.input_ids.begin() + block.starts[j + 1]);
      ASSERT_EQ(got, samples[indices[j]]) << "sample " << indices[j];
      ASSERT_EQ(block.class_labels[j], indices[j] % 3);
    }
  }
}

TEST(DatasetIo, TokenIdOutsideTheVocabularyIsRejectedAndNothingIsLeftBehind) {
  ScratchDir dir;
  {
    DatasetWriter writer(dir / "d.h5", TaskType::classification, 10);
    writer.add(encoding({2, 5, 3}, 3), int64_t{0});
    EXPECT_DTRAIN_ERROR(writer.add(encoding({2, 10, 3}, 3), int64_t{0}),
                        "d.h5: sample 1 has token id 10 outside the vocabulary (size 10)");
    EXPECT_TRUE(has_temp_files(dir.path()));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(DatasetIo, CheckVocabularyExplainsMismatches) {
  ScratchDir dir;
  {
    DatasetWriter writer(dir / "d.h5", TaskType::classification, 10);
    writer.add(encoding({2, 5, 3}, 3), int64_t{0});
    writer.commit(classification_info(10));
  }
  DatasetReader reader(dir / "d.h5");
  reader.check_vocabulary(10, "abc123");
  reader.check_vocabulary(10, "");
  EXPECT_DTRAIN_ERROR(reader.check_vocabulary(30522, ""),
                      "d.h5: tokenized with a vocabulary of 10 tokens, but the model has 30522");
  EXPECT_DTRAIN_ERROR(reader.check_vocabulary(10, "fff"), "d.h5: tokenized with a different vocabulary");
}

// Writes a dataset file directly through the HDF5 layer, so tests can produce broken variants.
struct RawDataset {
  DatasetInfo info = classification_info(10);
  std::vector<int32_t> input_ids{2, 5, 3, 2, 6, 3};
  std::vector<int8_t> token_type_ids{0, 0, 0, 0, 0, 0};
  std::vector<int64_t> offsets{0, 3, 6};
  std::vector<int64_t> labels{0, 1};
  std::string skip_dataset;

  void write(const std::filesystem::path& path) {
    info.num_samples = static_cast<int64_t>(labels.size());
    info.total_tokens = static_cast<int64_t>(input_ids.size());
    hdf5::File file = hdf5::File::create(path);
    write_info_attributes(file, info);
    if (skip_dataset != kInputIds) file.create_dataset(kInputIds, H5T_STD_I32LE, 64, 1).append(input_ids);
    if (skip_dataset != kTokenTypeIds)
      file.create_dataset(kTokenTypeIds, H5T_STD_I8LE, 64, 1).append(token_type_ids);
    if (skip_dataset != kOffsets) file.create_dataset(kOffsets, H5T_STD_I64LE, 64, 1).append(offsets);
    if (skip_dataset != kLabels) file.create_dataset(kLabels, H5T_STD_I64LE, 64, 1).append(labels);
    file.close();
  }
};

TEST(DatasetReaderErrors, MissingNotHdf5AndTruncatedFiles) {
  ScratchDir dir;
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "none.h5"), "none.h5: no such file");
  dtrain::testing::write_file(dir / "text.h5", "sentence\tlabel\n");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "text.h5"), "text.h5: not an HDF5 file");

  RawDataset valid;
  valid.write(dir / "whole.h5");
  const auto size = std::filesystem::file_size(dir / "whole.h5");
  std::filesystem::copy_file(dir / "whole.h5", dir / "cut.h5");
  std::filesystem::resize_file(dir / "cut.h5", size / 2);
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "cut.h5"),
                      "cut.h5: cannot open the HDF5 file; it is truncated or corrupt");
}

TEST(DatasetReaderErrors, MissingDatasetOrAttribute) {
  ScratchDir dir;
  RawDataset no_labels;
  no_labels.skip_dataset = kLabels;
  no_labels.write(dir / "d.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "d.h5"), "d.h5: dataset /labels is missing");

  hdf5::File plain = hdf5::File::create(dir / "plain.h5");
  plain.close();
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "plain.h5"),
                      "plain.h5: not a dtrain dataset (attribute 'format' is missing)");
}

TEST(DatasetReaderErrors, NewerFormatVersion) {
  ScratchDir dir;
  RawDataset future;
  future.info.format_version = kFormatVersion + 1;
  future.write(dir / "d.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "d.h5"),
                      fmt::format("d.h5: format version {} is newer than this dtrain ({})",
                                  kFormatVersion + 1, kFormatVersion));
}

TEST(DatasetReaderErrors, InconsistentIndexAndLabels) {
  ScratchDir dir;
  RawDataset index;
  index.offsets = {0, 4, 3};
  index.write(dir / "decreasing.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "decreasing.h5"),
                      "decreasing.h5: /offsets is not increasing at sample 1 (4 then 3)");
  index.offsets = {0, 3, 5};
  index.write(dir / "short_index.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "short_index.h5"),
                      "short_index.h5: /offsets ends at 5, expected total_tokens 6");

  RawDataset bad_label;
  bad_label.labels = {0, 3};
  bad_label.write(dir / "label.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "label.h5"), "label.h5: sample 1 has label 3, outside [0, 3)");

  RawDataset short_ids;
  short_ids.token_type_ids.pop_back();
  short_ids.write(dir / "short.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "short.h5"),
                      "short.h5:/token_type_ids: has 5 elements, expected 6 (total_tokens)");
}

TEST(DatasetReaderErrors, TokenIdOutsideTheVocabularyOnRead) {
  ScratchDir dir;
  RawDataset bad_ids;
  bad_ids.input_ids[4] = 12;
  bad_ids.write(dir / "d.h5");
  DatasetReader reader(dir / "d.h5");
  EXPECT_EQ(reader.read({0}).input_ids, (std::vector<int32_t>{2, 5, 3}));
  EXPECT_DTRAIN_ERROR(reader.read({0, 1}), "d.h5: sample 1 has token id 12 outside the vocabulary (size 10)");
}

}  // namespace
}  // namespace dtrain::data
