#include "train/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "data/dataset/dataset_reader.h"
#include "data/loading/eval_partition.h"
#include "dist/communicator.h"
#include "model/bert/bert_model.h"
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

data::PredictionsTable predict_distributed(model::BertForSequenceClassificationImpl& model,
                                           const data::DatasetReader& dataset, dist::Communicator& comm,
                                           int64_t batch_size) {
  const model::PartitionPredictions local =
      model::predict_partition(model, dataset, comm.rank(), comm.size(), batch_size);
  const data::PredictionsTable& part = local.table;
  const int64_t num_labels = part.num_labels;
  const bool regression = dataset.info().task == data::TaskType::regression;

  // Gather needs equal lengths: every rank sends [count, logits, labels] sized for the largest
  // partition (rank 0's). float32 logits and labels travel exactly as doubles.
  const int64_t rows = data::eval_partition(dataset.num_samples(), batch_size, 0, comm.size()).size();
  std::vector<double> send(static_cast<size_t>(1 + rows * (num_labels + 1)), 0.0);
  const int64_t count = part.num_samples();
  send[0] = static_cast<double>(count);
  std::copy(part.logits.begin(), part.logits.end(), send.begin() + 1);
  for (int64_t i = 0; i < count; ++i) {
    send[1 + rows * num_labels + i] =
        regression ? part.regression_labels[i] : static_cast<double>(part.class_labels[i]);
  }
  const std::vector<double> gathered = comm.gather(send, 0);

  data::PredictionsTable table;
  table.num_labels = num_labels;
  if (comm.rank() != 0) return table;
  // Blocks arrive in rank order, which is dataset order (eval_partition.h).
  for (int r = 0; r < comm.size(); ++r) {
    const double* block = gathered.data() + r * send.size();
    const auto block_count = static_cast<int64_t>(block[0]);
    table.logits.insert(table.logits.end(), block + 1, block + 1 + block_count * num_labels);
    const double* labels = block + 1 + rows * num_labels;
    for (int64_t i = 0; i < block_count; ++i) {
      if (regression)
        table.regression_labels.push_back(static_cast<float>(labels[i]));
      else
        table.class_labels.push_back(static_cast<int64_t>(labels[i]));
    }
  }
  return table;
}

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
  for (const auto& [name, value] :
       compute_metrics(metrics_for_task(task_name, regression), predictions, labels, num_labels)) {
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

}  // namespace dtrain::train
