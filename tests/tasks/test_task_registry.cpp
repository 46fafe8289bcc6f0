// Choosing a task from the dataset's task type and the model's model_type, and the sequence
// classification task behind the Task interface: its loss is the summed per-sample loss that
// PyTorch's own cross-entropy / MSE give, counted in samples, and its folders round-trip.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <fstream>

#include "data/dataset/dataset_reader.h"
#include "data/dataset/dataset_writer.h"
#include "data/loading/collate.h"
#include "model/hf/hf_checkpoint.h"
#include "support/error_matchers.h"
#include "support/test_support.h"
#include "tasks/classification/sequence_classification.h"
#include "tasks/task_registry.h"

namespace dtrain::tasks {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::ScratchDir;

const nlohmann::json kTinyBert = {{"vocab_size", 30},         {"hidden_size", 16},
                                  {"num_hidden_layers", 1},   {"num_attention_heads", 2},
                                  {"intermediate_size", 24},  {"max_position_embeddings", 16},
                                  {"hidden_dropout_prob", 0}, {"attention_probs_dropout_prob", 0}};

// `count` samples of 3..9 tokens with labels i % 3 (classification) or i / 4 (regression).
void write_dataset(const fs::path& path, data::TaskType task, int count) {
  data::DatasetWriter writer(path, task, 30);
  for (int i = 0; i < count; ++i) {
    data::Encoding encoding;
    const int length = 3 + i % 7;
    for (int position = 0; position < length; ++position) {
      encoding.input_ids.push_back(position == 0            ? 2
                                   : position + 1 == length ? 3
                                                            : 5 + (i * 7 + position) % 25);
      encoding.token_type_ids.push_back(0);
    }
    if (task == data::TaskType::regression)
      writer.add(encoding, static_cast<float>(i) / 4);
    else
      writer.add(encoding, static_cast<int64_t>(i % 3));
  }
  data::DatasetInfo info;
  info.task = task;
  info.num_labels = task == data::TaskType::regression ? 1 : 3;
  info.vocab_size = 30;
  info.pad_id = 0;
  info.cls_id = 2;
  info.sep_id = 3;
  info.max_length = 9;
  writer.commit(info);
}

data::Batch batch_of(const data::DatasetReader& reader, std::vector<int64_t> indices) {
  return data::collate(reader.read(indices), data::CollateOptions{reader.info().pad_id, 0});
}

TEST(TaskRegistry, ChoosesSequenceClassificationForBertOnClassificationAndRegressionData) {
  ScratchDir dir;
  for (const auto type : {data::TaskType::classification, data::TaskType::regression}) {
    const fs::path path = dir / (std::string(data::task_name(type)) + ".h5");
    write_dataset(path, type, 8);
    const data::DatasetReader reader(path);
    const auto task = make_task({{"", kTinyBert}, reader, Purpose::kTraining, 1});
    ASSERT_NE(dynamic_cast<classification::SequenceClassificationTask*>(task.get()), nullptr);
    EXPECT_EQ(task->architecture(), "BertForSequenceClassification");
    EXPECT_EQ(dynamic_cast<classification::SequenceClassificationTask&>(*task).model().config().num_labels,
              type == data::TaskType::regression ? 1 : 3);
  }
}

TEST(TaskRegistry, AnUnknownModelTypeNamesWhatIsRegistered) {
  ScratchDir dir;
  write_dataset(dir / "data.h5", data::TaskType::classification, 4);
  const data::DatasetReader reader(dir / "data.h5");
  nlohmann::json config = kTinyBert;
  config["model_type"] = "marian";
  EXPECT_DTRAIN_ERROR(make_task({{"", config}, reader}),
                      "no task trains classification datasets with model_type 'marian'",
                      "classification with bert, regression with bert");
  EXPECT_EQ(model_type_of({"", kTinyBert}), "bert");  // dtrain's configs without model_type are BERT
  EXPECT_DTRAIN_ERROR(make_task({{dir / "absent", nullptr}, reader}),
                      "model folder " + (dir / "absent").string() + " does not exist");
}

TEST(SequenceClassificationTask, LossIsThePerSampleLossSummedOverSamples) {
  ScratchDir dir;
  for (const auto type : {data::TaskType::classification, data::TaskType::regression}) {
    SCOPED_TRACE(data::task_name(type));
    const fs::path path = dir / (std::string(data::task_name(type)) + ".h5");
    write_dataset(path, type, 8);
    const data::DatasetReader reader(path);
    classification::SequenceClassificationTask task({{"", kTinyBert}, reader, Purpose::kTraining, 3});
    const data::Batch batch = batch_of(reader, {0, 3, 4, 6, 7});
    EXPECT_EQ(task.loss_units(batch), 5);
    const BatchLoss loss = task.loss(batch);
    EXPECT_EQ(loss.units, 5);

    // PyTorch's own losses with reduction "sum" on the model's logits.
    const auto ids = at::tensor(batch.input_ids).view({batch.batch_size, batch.seq_len});
    const auto mask = at::tensor(batch.attention_mask).view({batch.batch_size, batch.seq_len});
    const auto types = at::tensor(batch.token_type_ids).view({batch.batch_size, batch.seq_len});
    const at::Tensor logits = task.model().forward(ids, mask, types).logits;
    const at::Tensor expected =
        type == data::TaskType::regression
            ? at::mse_loss(logits.squeeze(-1), at::tensor(batch.regression_labels), at::Reduction::Sum)
            : at::cross_entropy_loss(logits, at::tensor(batch.class_labels), {}, at::Reduction::Sum);
    EXPECT_NEAR(loss.sum.item<double>(), expected.item<double>(), 1e-5 * std::abs(expected.item<double>()));

    // It is the loss autograd differentiates.
    loss.sum.backward();
    for (const auto& parameter : task.module().parameters()) ASSERT_TRUE(parameter.grad().defined());
  }
}

TEST(SequenceClassificationTask, SavedFolderLoadsAsTheSameModelForInference) {
  ScratchDir dir;
  write_dataset(dir / "data.h5", data::TaskType::classification, 6);
  const data::DatasetReader reader(dir / "data.h5");
  classification::SequenceClassificationTask trained({{"", kTinyBert}, reader, Purpose::kTraining, 5});
  trained.save_pretrained(dir / "model");
  EXPECT_EQ(model::read_config_json(dir / "model")["architectures"],
            nlohmann::json({"BertForSequenceClassification"}));

  const auto loaded = make_task({{dir / "model", nullptr}, reader, Purpose::kInference});
  const auto saved_parameters = trained.module().named_parameters();
  const auto loaded_parameters = loaded->module().named_parameters();
  ASSERT_EQ(saved_parameters.size(), loaded_parameters.size());
  for (const auto& item : saved_parameters) {
    EXPECT_TRUE(at::equal(item.value(), loaded_parameters[item.key()])) << item.key();
  }
}

TEST(SequenceClassificationTask, EvaluationNeedsLabelsTheModelCanPredict) {
  ScratchDir dir;
  write_dataset(dir / "classes.h5", data::TaskType::classification, 6);
  write_dataset(dir / "scores.h5", data::TaskType::regression, 6);
  const data::DatasetReader classes(dir / "classes.h5"), scores(dir / "scores.h5");
  classification::SequenceClassificationTask task({{"", kTinyBert}, classes, Purpose::kTraining, 5});
  EXPECT_NO_THROW(task.check_dataset(classes, DatasetRole::kEvaluation));
  EXPECT_NO_THROW(task.check_dataset(scores, DatasetRole::kPrediction));  // predict writes logits anyway
  EXPECT_DTRAIN_ERROR(
      task.check_dataset(scores, DatasetRole::kEvaluation),
      "scores.h5: the dataset has 1 labels (regression) but the model in model.config predicts 3");
}

}  // namespace
}  // namespace dtrain::tasks
