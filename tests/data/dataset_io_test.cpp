// Writing and reading prepared datasets: round trips, random access, and every way a dataset file
// can be unusable (each must be a one-line error naming the file).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "common/sha256.h"
#include "data/dataset/dataset_attributes.h"
#include "data/dataset/dataset_reader.h"
#include "data/dataset/dataset_writer.h"
#include "data/dataset/file_checksum.h"
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

DatasetInfo translation_info() {
  DatasetInfo info;
  info.task = TaskType::translation;
  info.vocab_size = 20;
  info.target_vocab_size = 30;
  info.pad_id = 19;
  info.cls_id = kNoTokenId;
  info.sep_id = kNoTokenId;
  info.eos_id = 0;
  info.decoder_start_token_id = 19;
  info.max_length = 8;
  info.max_target_length = 9;
  info.tokenizer_type = "marian";
  info.vocab_sha256 = "source-vocab";
  info.target_vocab_sha256 = "target-vocab";
  return info;
}

TEST(DatasetIo, TranslationRoundTripHasTwoStreamsWithTheirOwnOffsets) {
  ScratchDir dir;
  {
    DatasetWriter writer(dir / "t.h5", DatasetLayout{TaskType::translation, 20, false, 30});
    writer.add_translation({5, 6, 0}, {25, 26, 27, 0});
    writer.add_translation({7, 0}, {28, 0});
    writer.add_translation({8, 9, 10, 11, 0}, {29, 0});
    EXPECT_DTRAIN_ERROR(writer.add_translation({5, 0}, {30, 0}),
                        "t.h5: sample 3 has target id 30 outside the target vocabulary (size 30)");
    writer.commit(translation_info());
  }
  DatasetReader reader(dir / "t.h5");
  const DatasetInfo& info = reader.info();
  EXPECT_EQ(info.task, TaskType::translation);
  EXPECT_FALSE(info.has_token_type_ids);
  EXPECT_EQ(info.token_streams(), (std::vector<std::string>{"input_ids", "labels"}));
  EXPECT_EQ(info.total_tokens, 10);
  EXPECT_EQ(info.total_target_tokens, 8);
  EXPECT_EQ(info.target_vocab_size, 30);
  EXPECT_EQ(info.target_vocab_sha256, "target-vocab");
  EXPECT_EQ(info.decoder_start_token_id, 19);
  EXPECT_EQ(info.eos_id, 0);
  EXPECT_EQ(info.cls_id, kNoTokenId);
  EXPECT_EQ(info.tokenizer_type, "marian");
  EXPECT_EQ(reader.offsets(), (std::vector<int64_t>{0, 3, 5, 10}));
  EXPECT_EQ(reader.label_offsets(), (std::vector<int64_t>{0, 4, 6, 8}));
  const SampleBlock block = reader.read({2, 0, 2});
  EXPECT_EQ(block.starts, (std::vector<int64_t>{0, 5, 8, 13}));
  EXPECT_EQ(block.input_ids, (std::vector<int32_t>{8, 9, 10, 11, 0, 5, 6, 0, 8, 9, 10, 11, 0}));
  EXPECT_TRUE(block.token_type_ids.empty());
  EXPECT_EQ(block.label_starts, (std::vector<int64_t>{0, 2, 6, 8}));
  EXPECT_EQ(block.label_ids, (std::vector<int32_t>{29, 0, 25, 26, 27, 0, 29, 0}));
  EXPECT_TRUE(block.class_labels.empty() && block.regression_labels.empty());
}

TEST(DatasetIo, ClassificationWithoutTokenTypes) {
  ScratchDir dir;
  DatasetInfo info = classification_info(10);
  {
    DatasetWriter writer(dir / "d.h5", DatasetLayout{TaskType::classification, 10, false, 0});
    writer.add(Encoding{{2, 5, 3}, {}}, int64_t{1});
    writer.commit(info);
  }
  DatasetReader reader(dir / "d.h5");
  EXPECT_FALSE(reader.info().has_token_type_ids);
  EXPECT_EQ(reader.info().token_streams(), std::vector<std::string>{"input_ids"});
  const SampleBlock block = reader.read({0});
  EXPECT_EQ(block.input_ids, (std::vector<int32_t>{2, 5, 3}));
  EXPECT_TRUE(block.token_type_ids.empty());
  EXPECT_EQ(block.class_labels, std::vector<int64_t>{1});
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
  bool checksum_header = true;

  void write(const std::filesystem::path& path) {
    info.num_samples = static_cast<int64_t>(labels.size());
    info.total_tokens = static_cast<int64_t>(input_ids.size());
    hdf5::File file = hdf5::File::create(path, checksum_header ? kChecksumHeaderBytes : 0);
    write_info_attributes(file, info);
    if (skip_dataset != kInputIds) file.create_dataset(kInputIds, H5T_STD_I32LE, 64, 1).append(input_ids);
    if (skip_dataset != kTokenTypeIds)
      file.create_dataset(kTokenTypeIds, H5T_STD_I8LE, 64, 1).append(token_type_ids);
    if (skip_dataset != kOffsets) file.create_dataset(kOffsets, H5T_STD_I64LE, 64, 1).append(offsets);
    if (skip_dataset != kLabels) file.create_dataset(kLabels, H5T_STD_I64LE, 64, 1).append(labels);
    file.close();
    if (checksum_header) write_checksum_header(path);
  }
};

TEST(DatasetReaderErrors, MissingNotHdf5AndTruncatedFiles) {
  ScratchDir dir;
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "none.h5"), "none.h5: no such file");
  dtrain::testing::write_file(dir / "text.h5", "sentence\tlabel\n");
  EXPECT_DTRAIN_ERROR(
      DatasetReader(dir / "text.h5"),
      "text.h5: not a dtrain dataset: it starts with neither a dtrain checksum header nor the HDF5 "
      "signature");

  RawDataset valid;
  valid.write(dir / "whole.h5");
  const auto size = std::filesystem::file_size(dir / "whole.h5");
  std::filesystem::copy_file(dir / "whole.h5", dir / "cut.h5");
  std::filesystem::resize_file(dir / "cut.h5", size / 2);
  EXPECT_DTRAIN_ERROR(
      DatasetReader(dir / "cut.h5"),
      fmt::format("cut.h5: the file has {} bytes, but was written with {}: it was cut off on the way",
                  size / 2, size));
  std::filesystem::copy_file(dir / "whole.h5", dir / "header.h5");
  std::filesystem::resize_file(dir / "header.h5", 100);
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "header.h5"),
                      "header.h5: the file ends inside its checksum header");
}

// Flips one byte at `at`.
void flip_byte(const std::filesystem::path& path, std::streamoff at) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekg(at);
  const char byte = static_cast<char>(file.get() ^ 0x10);
  file.seekp(at);
  file.put(byte);
}

TEST(DatasetReaderErrors, ChecksumHeaderCatchesAlteredFiles) {
  ScratchDir dir;
  RawDataset valid;
  valid.write(dir / "whole.h5");
  const auto size = static_cast<std::streamoff>(std::filesystem::file_size(dir / "whole.h5"));
  const std::pair<std::streamoff, std::string> damages[] = {
      {size - 10, "checksum mismatch: its content is not what dtrain prepare wrote"},
      {kChecksumHeaderBytes + 3, "checksum mismatch"},  // the HDF5 superblock
      {60, "the checksum header (first 512 bytes) is damaged"},
      {400, "the checksum header (first 512 bytes) is damaged"},  // its NUL padding
      {3, "not a dtrain dataset"},
  };
  for (const auto& [at, expected] : damages) {
    SCOPED_TRACE(at);
    std::filesystem::copy_file(dir / "whole.h5", dir / "damaged.h5",
                               std::filesystem::copy_options::overwrite_existing);
    flip_byte(dir / "damaged.h5", at);
    EXPECT_DTRAIN_ERROR(DatasetReader(dir / "damaged.h5"), "damaged.h5: ", expected,
                        "re-create it with dtrain prepare");
  }
  // A format-2 file must carry its header: without one it was not written by dtrain, or damaged.
  RawDataset headless;
  headless.checksum_header = false;
  headless.write(dir / "headless.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "headless.h5"),
                      "headless.h5: a format 2 file without its checksum header");
}

TEST(DatasetReaderErrors, ChecksumOfLargeFilesIsLeftToLibhdf5UnlessEverythingIsVerified) {
  ScratchDir dir;
  RawDataset valid;
  valid.write(dir / "d.h5");
  EXPECT_TRUE(DatasetReader(dir / "d.h5").integrity().whole_file_verified);
  const FileIntegrity integrity = DatasetReader(dir / "d.h5", Verification::everything).integrity();
  EXPECT_TRUE(integrity.checksum_header && integrity.whole_file_verified);
  EXPECT_EQ(integrity.sha256, sha256_file_hex(dir / "d.h5", kChecksumHeaderBytes));
  EXPECT_EQ(integrity.file_size, std::filesystem::file_size(dir / "d.h5"));
}

TEST(DatasetReaderErrors, MissingDatasetOrAttribute) {
  ScratchDir dir;
  RawDataset no_labels;
  no_labels.skip_dataset = kLabels;
  no_labels.write(dir / "d.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "d.h5"), "d.h5: dataset /labels is missing");

  hdf5::File plain = hdf5::File::create(dir / "plain.h5", kChecksumHeaderBytes);
  plain.close();
  write_checksum_header(dir / "plain.h5");
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

TEST(DatasetReaderErrors, TokenTypeOtherThanZeroOrOneOnRead) {
  ScratchDir dir;
  RawDataset bad_types;
  bad_types.token_type_ids[1] = 2;
  bad_types.write(dir / "d.h5");
  EXPECT_DTRAIN_ERROR(DatasetReader(dir / "d.h5").read({0}),
                      "d.h5: sample 0 has token type 2 (expected 0 or 1)");
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
