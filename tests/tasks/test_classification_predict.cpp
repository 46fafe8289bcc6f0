// Sequence classification's prediction (`dtrain predict`): logits in dataset order equal to the
// model's own forward pass, partitions that concatenate to the whole dataset, and clear errors for
// data the model cannot read.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "data/dataset/dataset_writer.h"
#include "data/dataset/hdf5.h"
#include "model/checkpoint_test_support.h"
#include "model/hf/hf_checkpoint.h"
#include "tasks/classification/dataset_fit.h"
#include "tasks/classification/evaluation.h"
#include "tasks/classification/predict.h"

namespace dtrain::tasks::classification {
namespace {
namespace fs = std::filesystem;
using dtrain::model::BertConfig;
using dtrain::model::BertForSequenceClassification;
using dtrain::model::save_hf_checkpoint;
using dtrain::testing::dtrain_binary;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

constexpr int kVocabSize = 40;
constexpr int kNumLabels = 3;

BertConfig tiny_config() {
  BertConfig config;
  config.vocab_size = kVocabSize;
  config.hidden_size = 16;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 2;
  config.intermediate_size = 24;
  config.max_position_embeddings = 32;
  config.set_num_labels(kNumLabels);
  config.validate();
  return config;
}

// `count` samples of 3..20 tokens: [CLS]=2 words [SEP]=3, some with a second segment.
data::DatasetInfo write_dataset(const fs::path& path, int count, int vocab_size, int max_length = 20,
                                const std::string& vocab_sha256 = "") {
  std::mt19937 random(17);
  data::DatasetWriter writer(path, data::TaskType::classification, vocab_size);
  for (int sample = 0; sample < count; ++sample) {
    data::Encoding encoding;
    const int length = 3 + static_cast<int>(random() % (max_length - 2));
    for (int position = 0; position < length; ++position) {
      const bool edge = position == 0 || position == length - 1;
      encoding.input_ids.push_back(position == 0 ? 2
                                   : edge        ? 3
                                                 : 5 + static_cast<int32_t>(random() % (vocab_size - 5)));
      encoding.token_type_ids.push_back(sample % 2 == 1 && position > length / 2 ? 1 : 0);
    }
    writer.add(encoding, static_cast<int64_t>(random() % kNumLabels));
  }
  data::DatasetInfo info;
  info.task = data::TaskType::classification;
  info.num_labels = kNumLabels;
  info.vocab_size = vocab_size;
  info.pad_id = 0;
  info.cls_id = 2;
  info.sep_id = 3;
  info.max_length = max_length;
  info.vocab_sha256 = vocab_sha256;
  writer.commit(info);
  return info;
}

// /logits [rows, labels] and /labels of a predictions file, read with the HDF5 C API.
struct PredictionsFile {
  std::vector<hsize_t> logits_shape;
  at::Tensor logits;
  std::vector<int64_t> labels;
};

PredictionsFile read_predictions(const fs::path& path) {
  data::hdf5::Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  EXPECT_TRUE(file.valid()) << path;
  data::hdf5::Id logits(H5Dopen2(file.get(), "logits", H5P_DEFAULT), H5Dclose);
  data::hdf5::Id space(H5Dget_space(logits.get()), H5Sclose);
  PredictionsFile result;
  result.logits_shape.resize(H5Sget_simple_extent_ndims(space.get()));
  H5Sget_simple_extent_dims(space.get(), result.logits_shape.data(), nullptr);
  result.logits = at::empty(
      {static_cast<int64_t>(result.logits_shape.at(0)), static_cast<int64_t>(result.logits_shape.at(1))});
  H5Dread(logits.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, result.logits.data_ptr());
  data::hdf5::Id labels(H5Dopen2(file.get(), "labels", H5P_DEFAULT), H5Dclose);
  result.labels.resize(result.logits_shape[0]);
  H5Dread(labels.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, result.labels.data());
  return result;
}

TEST(Predict, CommandWritesTheModelsLogitsInDatasetOrder) {
  ScratchDir dir;
  BertForSequenceClassification model(tiny_config(), /*seed=*/3);
  save_hf_checkpoint(*model, dir / "model");
  write_dataset(dir / "data.h5", 13, kVocabSize);

  auto run =
      run_command(dtrain_binary().string() + " predict --model " + (dir / "model").string() + " --data " +
                  (dir / "data.h5").string() + " --output " + (dir / "out.h5").string() + " --batch-size 4");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("predict: 13 samples in"));
  const PredictionsFile predictions = read_predictions(dir / "out.h5");
  ASSERT_EQ(predictions.logits_shape, (std::vector<hsize_t>{13, kNumLabels}));

  // Each sample alone, unpadded, through the model: batching and padding must not change logits.
  model->eval();
  c10::NoGradGuard no_grad;
  const data::DatasetReader reader(dir / "data.h5");
  int64_t correct = 0;
  for (int64_t sample = 0; sample < 13; ++sample) {
    const data::SampleBlock block = reader.read({sample});
    const int64_t length = block.starts[1];
    const at::Tensor ids =
        at::tensor(std::vector<int64_t>(block.input_ids.begin(), block.input_ids.end())).view({1, length});
    const at::Tensor types =
        at::tensor(std::vector<int64_t>(block.token_type_ids.begin(), block.token_type_ids.end()))
            .view({1, length});
    const at::Tensor expected = model->forward(ids, at::ones({1, length}, at::kLong), types).logits[0];
    EXPECT_TRUE(at::allclose(predictions.logits[sample], expected, 1e-5, 1e-5))
        << "sample " << sample << ": " << predictions.logits[sample] << " vs " << expected;
    EXPECT_EQ(predictions.labels[sample], block.class_labels[0]);
    correct += expected.argmax().item<int64_t>() == block.class_labels[0];
  }
  EXPECT_THAT(run.output, ::testing::HasSubstr(fmt::format("accuracy {:.4f}", correct / 13.0)));
}

TEST(Predict, PartitionsConcatenateToTheWholeDataset) {
  ScratchDir dir;
  BertForSequenceClassification model(tiny_config(), /*seed=*/4);
  write_dataset(dir / "data.h5", 11, kVocabSize);
  const data::DatasetReader reader(dir / "data.h5");
  const PartitionPredictions whole = predict_partition(*model, reader, 0, 1, 5);
  EXPECT_TRUE(model->is_training()) << "predict must restore the model's mode";
  ASSERT_EQ(whole.table.num_samples(), 11);
  std::vector<float> concatenated;
  int64_t next_sample = 0;
  for (int rank = 0; rank < 3; ++rank) {
    const PartitionPredictions part = predict_partition(*model, reader, rank, 3, 2);
    EXPECT_EQ(part.samples.begin, next_sample);
    next_sample = part.samples.end;
    concatenated.insert(concatenated.end(), part.table.logits.begin(), part.table.logits.end());
  }
  EXPECT_EQ(next_sample, 11);
  EXPECT_TRUE(at::allclose(at::tensor(concatenated), at::tensor(whole.table.logits), 1e-5, 1e-5));
}

TEST(Predict, MetricsTakeTheFirstLargestLogitAndTheMeanCrossEntropy) {
  data::PredictionsTable table{2, {0.1f, 0.9f, 0.5f, 0.5f, 2.0f, -1.0f}, {1, 0, 1}, {}};
  const auto metrics = prediction_metrics(table, "");
  EXPECT_DOUBLE_EQ(metrics["eval_accuracy"].get<double>(), 2.0 / 3.0);
  const double expected_loss = (std::log(std::exp(0.1) + std::exp(0.9)) - 0.9 + std::log(2.0) +
                                std::log(std::exp(2.0) + std::exp(-1.0)) + 1.0) /
                               3.0;
  EXPECT_NEAR(metrics["eval_loss"].get<double>(), expected_loss, 1e-6);
}

TEST(Predict, DatasetWithALargerVocabularyIsRejectedWithoutOutput) {
  ScratchDir dir;
  BertForSequenceClassification model(tiny_config(), /*seed=*/3);
  save_hf_checkpoint(*model, dir / "model");
  write_dataset(dir / "data.h5", 3, kVocabSize + 20);
  auto run = run_command(dtrain_binary().string() + " predict --model " + (dir / "model").string() +
                         " --data " + (dir / "data.h5").string() + " --output " + (dir / "out.h5").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output,
              ::testing::HasSubstr("dtrain: error: " + (dir / "data.h5").string() +
                                   ": tokenized with a vocabulary of 60 tokens, but the model in"));
  EXPECT_FALSE(fs::exists(dir / "out.h5"));
}

TEST(Predict, BadArgumentsFailWithOneLineBeforeAnyWork) {
  ScratchDir dir;
  write_dataset(dir / "data.h5", 2, kVocabSize);
  const std::string data = " --data " + (dir / "data.h5").string();
  auto no_model = run_command(dtrain_binary().string() + " predict --model " + (dir / "absent").string() +
                              data + " --output " + (dir / "out.h5").string());
  EXPECT_EQ(no_model.exit_code, 1);
  EXPECT_THAT(no_model.output, ::testing::HasSubstr("dtrain: error: model folder " +
                                                    (dir / "absent").string() + " does not exist"));
  auto no_folder = run_command(dtrain_binary().string() + " predict --model " + dir.path().string() + data +
                               " --output " + (dir / "missing/out.h5").string());
  EXPECT_EQ(no_folder.exit_code, 1);
  EXPECT_THAT(no_folder.output,
              ::testing::HasSubstr("folder " + (dir / "missing").string() + " does not exist"));
  auto zero_batch = run_command(dtrain_binary().string() + " predict --model " + dir.path().string() + data +
                                " --output " + (dir / "out.h5").string() + " --batch-size 0");
  EXPECT_NE(zero_batch.exit_code, 0);
  EXPECT_THAT(zero_batch.output, ::testing::HasSubstr("--batch-size"));
  EXPECT_FALSE(fs::exists(dir / "out.h5"));
}

TEST(Predict, VocabularyFingerprintMustMatchTheModelsVocabTxt) {
  ScratchDir dir;
  std::string vocab = "[PAD]\n[unused]\n[CLS]\n[SEP]\n[UNK]\n[MASK]\n";
  for (int word = 6; word < kVocabSize; ++word) vocab += "word" + std::to_string(word) + "\n";
  write_file(dir / "model/vocab.txt", vocab);
  const std::string sha256 = data::BertTokenizer::from_folder(dir / "model").vocab_sha256();

  write_dataset(dir / "same.h5", 2, kVocabSize, 20, sha256);
  EXPECT_NO_THROW(
      check_dataset_fits_model(data::DatasetReader(dir / "same.h5"), tiny_config(), dir / "model"));
  write_dataset(dir / "other.h5", 2, kVocabSize, 20, "0123abcd");
  EXPECT_DTRAIN_ERROR(
      check_dataset_fits_model(data::DatasetReader(dir / "other.h5"), tiny_config(), dir / "model"),
      "other.h5: tokenized with a different vocabulary (sha256 0123abcd) than",
      "the tokenizer in " + (dir / "model").string() + " (sha256 " + sha256 + ")");
}

TEST(Predict, SequencesLongerThanThePositionEmbeddingsAreRejected) {
  ScratchDir dir;
  write_dataset(dir / "long.h5", 6, kVocabSize, /*max_length=*/64);
  const data::DatasetReader reader(dir / "long.h5");
  int64_t longest = 0;
  for (int64_t sample = 0; sample < reader.num_samples(); ++sample)
    longest = std::max(longest, reader.sample_length(sample));
  ASSERT_GT(longest, 32) << "the fixture must hold a sample longer than the model's positions";
  EXPECT_DTRAIN_ERROR(check_dataset_fits_model(reader, tiny_config(), dir.path()),
                      fmt::format("the longest sample has {} tokens, but the model in", longest),
                      "has only 32 positions");
}

}  // namespace
}  // namespace dtrain::tasks::classification

namespace dtrain::tasks::classification {
namespace {

using dtrain::testing::python;

// A GLUE dev set and how `dtrain prepare` reads it.
struct GlueDevSet {
  std::string task;
  std::string prepare_arguments;
  int64_t num_labels;
  int64_t rows;
};

const std::vector<GlueDevSet> kGlueDevSets = {
    {"MRPC", "--text-a '#1 String' --text-b '#2 String' --label Quality", 2, 408},
    {"SST-2", "--text-a sentence --label label", 2, 872},
    {"RTE", "--text-a sentence1 --text-b sentence2 --label label --labels entailment,not_entailment", 2, 277},
    {"STS-B", "--text-a sentence1 --text-b sentence2 --label score --task regression", 1, 1500},
    {"CoLA", "--no-header --text-a 3 --label 1", 2, 1043},
};

// A random Hugging Face-layout checkpoint (written by Python with `tool_arguments`) on a GLUE dev
// set prepared with bert-base-uncased's vocabulary: dtrain predict reproduces the independent
// reference's logits.
void expect_reference_logits(const fs::path& shared, const GlueDevSet& set,
                             const std::string& tool_arguments) {
  SCOPED_TRACE(set.task);
  ScratchDir dir;
  const fs::path vocab = shared / "vocab/bert-base-uncased";
  auto prepare = run_command(dtrain_binary().string() + " prepare --tokenizer " + vocab.string() +
                             " --input " + (shared / "glue" / set.task / "dev.tsv").string() + " --output " +
                             (dir / "dev.h5").string() + " " + set.prepare_arguments + " --max-length 128");
  ASSERT_EQ(prepare.exit_code, 0) << prepare.output;
  dtrain::testing::run_safetensors_tool("bert " + (dir / "model").string() + " " + tool_arguments +
                                        " --vocab-size 30522 --num-labels " + std::to_string(set.num_labels));
  fs::copy_file(vocab / "vocab.txt", dir / "model/vocab.txt");  // enables the vocabulary fingerprint check

  auto predict =
      run_command(dtrain_binary().string() + " predict --model " + (dir / "model").string() + " --data " +
                  (dir / "dev.h5").string() + " --output " + (dir / "out.h5").string());
  ASSERT_EQ(predict.exit_code, 0) << predict.output;
  EXPECT_THAT(predict.output, ::testing::HasSubstr("predict: " + std::to_string(set.rows) + " samples"));
  auto reference = run_command(
      python() + " " + (dtrain::testing::source_dir() / "tests/model/predict_reference.py").string() + " " +
      (dir / "model").string() + " " + (dir / "dev.h5").string() + " " + (dir / "out.h5").string() + " 1e-4");
  EXPECT_EQ(reference.exit_code, 0) << reference.output;
}

TEST(PredictGlue, ShardedFloat32CheckpointMatchesReferenceOnMrpc) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  expect_reference_logits(shared, kGlueDevSets[0], "--variant sharded --dtype F32 --seed 1");
}

TEST(PredictGlue, LegacyBFloat16CheckpointMatchesReferenceOnMrpc) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  expect_reference_logits(shared, kGlueDevSets[0], "--variant legacy --dtype BF16 --seed 2");
}

TEST(PredictGlue, EveryOtherDevSetMatchesReference) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  for (size_t i = 1; i < kGlueDevSets.size(); ++i) {
    expect_reference_logits(shared, kGlueDevSets[i],
                            "--variant plain --dtype F32 --seed " + std::to_string(10 + i));
  }
}

}  // namespace
}  // namespace dtrain::tasks::classification
