#include "tasks/classification/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "data/dataset/dataset_reader.h"
#include "dist/communicator.h"
#include "metrics/glue_metrics.h"
#include "model/bert/bert_model.h"
#include "tasks/classification/predict.h"

namespace dtrain::tasks::classification {
namespace {

// Per-sample loss the way the model computes it: cross-entropy of the logits, or squared error.
double sample_loss(const float* logits, int64_t num_labels, double label) {
  if (num_labels == 1) return (logits[0] - label) * (logits[0] - label);
  double max_logit = logits[0];
  for (int64_t k = 1; k < num_labels; ++k) max_logit = std::max<double>(max_logit, logits[k]);
  double sum = 0;
  for (int64_t k = 0; k < num_labels; ++k) sum += std::exp(logits[k] - max_logit);
  return max_logit + std::log(sum) - logits[static_cast<int64_t>(label)];
}

}  // namespace

nlohmann::json prediction_metrics(const data::PredictionsTable& table, const std::string& task_name) {
  const int64_t num_labels = table.num_labels;
  const bool regression = !table.regression_labels.empty() || num_labels == 1;
  std::vector<double> predictions, labels;
  double loss_sum = 0;
  for (int64_t i = 0; i < table.num_samples(); ++i) {
    const float* row = table.logits.data() + i * num_labels;
    const double label = regression ? table.regression_labels[i] : static_cast<double>(table.class_labels[i]);
    predictions.push_back(regression ? row[0]
                                     : static_cast<double>(std::max_element(row, row + num_labels) - row));
    labels.push_back(label);
    loss_sum += sample_loss(row, num_labels, label);
  }
  nlohmann::json results;
  results["eval_loss"] = labels.empty() ? 0.0 : loss_sum / static_cast<double>(labels.size());
  for (const auto& [name, value] : metrics::compute_metrics(metrics::metrics_for_task(task_name, regression),
                                                            predictions, labels, num_labels)) {
    results["eval_" + name] = value;
  }
  return results;
}

nlohmann::json evaluate(model::BertForSequenceClassificationImpl& model, const data::DatasetReader& dataset,
                        dist::Communicator& comm, int64_t batch_size, const std::string& task_name) {
  const auto start = std::chrono::steady_clock::now();
  const data::PredictionsTable table = predict_distributed(model, dataset, comm, batch_size);
  if (comm.rank() != 0) return nlohmann::json::object();
  nlohmann::json results = prediction_metrics(table, task_name);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  results["eval_samples"] = table.num_samples();
  results["eval_runtime"] = seconds;
  results["eval_samples_per_second"] = static_cast<double>(table.num_samples()) / seconds;
  return results;
}

}  // namespace dtrain::tasks::classification
