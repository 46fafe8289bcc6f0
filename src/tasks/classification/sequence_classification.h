#pragma once
// Sequence classification and regression (GLUE) with BERT, as Hugging Face's
// BertForSequenceClassification: one label per sample, cross-entropy (or squared error for
// regression) averaged over samples, so the loss unit is a sample. Evaluation reports eval_loss and
// the GLUE metrics of data.task_name; prediction writes the logits (data/dataset/predictions_file.h).
// Registered for classification and regression datasets with model_type "bert".
#include <filesystem>
#include <string>

#include "model/bert/bert_config.h"
#include "model/bert/bert_model.h"
#include "tasks/task.h"

namespace dtrain::tasks::classification {

// The config a task builds its model from: the source's config.json (or inline fields), with the
// dataset's labels when training (as from_pretrained(num_labels=, id2label=) does).
model::BertConfig model_config(const TaskSetup& setup);

class SequenceClassificationTask final : public Task {
 public:
  // Builds the model from the setup (initialised from `seed`, then the folder's weights when there
  // is one; a missing classifier stays initialised and is reported) on setup.device.
  explicit SequenceClassificationTask(const TaskSetup& setup);

  std::string architecture() const override;
  torch::nn::Module& module() override { return *model_; }
  model::BertForSequenceClassificationImpl& model() { return *model_; }

  void check_dataset(const data::DatasetReader& dataset, DatasetRole role) const override;
  int64_t loss_units(const data::Batch& batch) const override;
  BatchLoss loss(const data::Batch& batch) override;
  model::TrainingFlops training_flops(const data::Batch& batch) const override;
  nlohmann::json evaluate(const data::DatasetReader& dataset, dist::Communicator& comm,
                          const EvaluationOptions& options) override;
  PredictionSummary predict(const data::DatasetReader& dataset, dist::Communicator& comm,
                            const EvaluationOptions& options, const std::filesystem::path& output) override;
  void save_pretrained(const std::filesystem::path& folder) const override;
  void load_weights(const std::filesystem::path& folder) override;

 private:
  std::filesystem::path source_;  // the model folder, or "model.config": named in errors
  c10::Device device_;
  model::BertForSequenceClassification model_{nullptr};
};

}  // namespace dtrain::tasks::classification
