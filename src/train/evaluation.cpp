#include "train/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "data/dataset_reader.h"
#include "data/eval_partition.h"
#include "dist/communicator.h"
#include "model/bert_model.h"
#include "model/predict.h"
#include "train/metrics.h"

namespace dtrain::train {
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

nlohmann::json evaluate(model::BertForSequenceClassificationImpl& model, const data::DatasetReader& dataset,
                        dist::Communicator& comm, int64_t batch_size, const std::string& task_name) {
  const auto start = std::chrono::steady_clock::now();
  const model::PartitionPredictions local =
      model::predict_partition(model, dataset, comm.rank(), comm.size(), batch_size);
  const int64_t num_labels = local.table.num_labels;
  const bool regression = dataset.info().task == data::TaskType::regression;

  // Gather needs equal lengths: every rank sends a row block sized for the largest partition.
  const int64_t rows = data::eval_partition(dataset.num_samples(), 0, comm.size()).size();
  std::vector<double> send(static_cast<size_t>(1 + rows * (num_labels + 1)), 0.0);
  const int64_t count = local.table.num_samples();
  send[0] = static_cast<double>(count);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t k = 0; k < num_labels; ++k) send[1 + i * num_labels + k] = local.table.logits[i * num_labels + k];
    send[1 + rows * num_labels + i] =
        regression ? local.table.regression_labels[i] : static_cast<double>(local.table.class_labels[i]);
  }
  const std::vector<double> gathered = comm.gather(send, 0);
  if (comm.rank() != 0) return nlohmann::json::object();

  // Blocks arrive in rank order, which is dataset order (eval_partition.h).
  std::vector<float> logits;
  std::vector<double> predictions, labels;
  for (int r = 0; r < comm.size(); ++r) {
    const double* block = gathered.data() + r * send.size();
    const auto block_count = static_cast<int64_t>(block[0]);
    for (int64_t i = 0; i < block_count; ++i) {
      const double* row = block + 1 + i * num_labels;
      logits.insert(logits.end(), row, row + num_labels);
      labels.push_back(block[1 + rows * num_labels + i]);
      predictions.push_back(regression ? row[0]
                                       : static_cast<double>(std::max_element(row, row + num_labels) - row));
    }
  }
  double loss_sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) loss_sum += sample_loss(&logits[i * num_labels], num_labels, labels[i]);
  const auto samples = static_cast<int64_t>(labels.size());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json results;
  results["eval_loss"] = samples > 0 ? loss_sum / static_cast<double>(samples) : 0.0;
  for (const auto& [name, value] :
       compute_metrics(metrics_for_task(task_name, regression), predictions, labels, num_labels)) {
    results["eval_" + name] = value;
  }
  results["eval_samples"] = samples;
  results["eval_runtime"] = seconds;
  results["eval_samples_per_second"] = static_cast<double>(samples) / seconds;
  return results;
}

}  // namespace dtrain::train
