#include "tasks/classification/sequence_classification.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "common/error.h"
#include "data/dataset/dataset_reader.h"
#include "data/loading/collate.h"
#include "dist/communicator.h"
#include "model/bert/bert_flops.h"
#include "model/hf/hf_checkpoint.h"
#include "tasks/batch_tensors.h"
#include "tasks/classification/dataset_fit.h"
#include "tasks/classification/evaluation.h"
#include "tasks/classification/predict.h"
#include "tasks/task_registry.h"

namespace dtrain::tasks::classification {
namespace fs = std::filesystem;

namespace {

std::unique_ptr<Task> make(const TaskSetup& setup) {
  return std::make_unique<SequenceClassificationTask>(setup);
}

const TaskRegistration kClassification(data::TaskType::classification, "bert", make);
const TaskRegistration kRegression(data::TaskType::regression, "bert", make);

fs::path source_name(const ModelSource& source) {
  return source.folder.empty() ? fs::path("model.config") : source.folder;
}

}  // namespace

model::BertConfig model_config(const TaskSetup& setup) {
  model::BertConfig config = setup.model.folder.empty()
                                 ? model::BertConfig::from_json(setup.model.config, "model.config")
                                 : model::read_hf_config(setup.model.folder);
  if (setup.purpose == Purpose::kInference) return config;
  // The dataset decides the labels, as `num_labels=`/`id2label=` do in from_pretrained.
  const data::DatasetInfo& dataset = setup.dataset.info();
  if (dataset.task == data::TaskType::regression)
    config.set_num_labels(1);
  else if (!dataset.label_names.empty())
    config.set_labels(dataset.label_names);
  else
    config.set_num_labels(dataset.num_labels);
  return config;
}

SequenceClassificationTask::SequenceClassificationTask(const TaskSetup& setup)
    : source_(source_name(setup.model)), device_(setup.device) {
  const model::BertConfig config = model_config(setup);
  // Training checks its data before building (and loading) a model that could not read it.
  if (setup.purpose == Purpose::kTraining) check_dataset_fits_model(setup.dataset, config, source_);
  model_ = model::BertForSequenceClassification(config, setup.seed);
  if (!setup.model.folder.empty()) load_weights(setup.model.folder);
  model_->to(device_);
}

std::string SequenceClassificationTask::architecture() const {
  return model::kBertForSequenceClassification.name;
}

void SequenceClassificationTask::check_dataset(const data::DatasetReader& dataset, DatasetRole role) const {
  check_dataset_fits_model(dataset, model_->config(), source_);
  if (role != DatasetRole::kEvaluation) return;
  // Metrics compare labels with the model's predictions: each label must be one the model can give
  // (a dev set may lack the highest class, and so count fewer labels).
  const data::DatasetInfo& info = dataset.info();
  const bool regression = info.task == data::TaskType::regression;
  const int64_t model_labels = model_->config().num_labels;
  DTRAIN_CHECK(regression ? model_labels == 1 : info.num_labels <= model_labels,
               "{}: the dataset has {} labels ({}) but the model in {} predicts {}", dataset.path().string(),
               info.num_labels, regression ? "regression" : "classification", source_.string(), model_labels);
}

int64_t SequenceClassificationTask::loss_units(const data::Batch& batch) const {
  return batch.batch_size;
}

BatchLoss SequenceClassificationTask::loss(const data::Batch& batch) {
  const BatchTensors tensors = to_tensors(batch, device_);
  // The model's loss is the mean over the batch's samples, as in Hugging Face.
  const at::Tensor mean =
      *model_->forward(tensors.input_ids, tensors.attention_mask, tensors.token_type_ids, tensors.labels)
           .loss;
  return {mean * static_cast<double>(batch.batch_size), batch.batch_size};
}

model::TrainingFlops SequenceClassificationTask::training_flops(const data::Batch& batch) const {
  return model::training_flops(model_->config(), batch);
}

nlohmann::json SequenceClassificationTask::evaluate(const data::DatasetReader& dataset,
                                                    dist::Communicator& comm,
                                                    const EvaluationOptions& options) {
  return classification::evaluate(*model_, dataset, comm, options.batch_size, options.task_name);
}

PredictionSummary SequenceClassificationTask::predict(const data::DatasetReader& dataset,
                                                      dist::Communicator& comm,
                                                      const EvaluationOptions& options,
                                                      const fs::path& output) {
  const data::PredictionsTable table = predict_distributed(*model_, dataset, comm, options.batch_size);
  if (comm.rank() != 0) return {};
  data::write_predictions(output, table);
  PredictionSummary summary{table.num_samples(), ""};
  const data::DatasetInfo& info = dataset.info();
  if (info.task == data::TaskType::classification && info.num_labels == table.num_labels) {
    summary.quality =
        fmt::format("accuracy {:.4f}", prediction_metrics(table, "")["eval_accuracy"].get<double>());
  } else if (info.task == data::TaskType::classification) {
    spdlog::warn("{} has {} labels but the model predicts {}: accuracy not computed", dataset.path().string(),
                 info.num_labels, table.num_labels);
  }
  return summary;
}

void SequenceClassificationTask::save_pretrained(const fs::path& folder) const {
  model::save_hf_checkpoint(*model_, folder);
}

void SequenceClassificationTask::load_weights(const fs::path& folder) {
  model::load_hf_weights(*model_, model::kBertForSequenceClassification, folder);
}

}  // namespace dtrain::tasks::classification
