#include "tasks/classification/predict.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "common/error.h"
#include "data/loading/eval_partition.h"
#include "data/loading/loader.h"
#include "dist/communicator.h"
#include "dist/rank_activity.h"

namespace dtrain::tasks::classification {

PartitionPredictions predict_partition(model::BertForSequenceClassificationImpl& model,
                                       const data::DatasetReader& reader, int rank, int world_size,
                                       int64_t batch_size) {
  DTRAIN_CHECK(batch_size > 0, "batch size must be positive, got {}", batch_size);
  data::LoaderOptions options;
  options.collate = data::collate_options(reader.info(), 0);
  data::EvalLoader loader(reader, rank, world_size, batch_size, options);

  PartitionPredictions result;
  result.samples = loader.partition();
  data::PredictionsTable& table = result.table;
  table.num_labels = model.config().num_labels;
  table.logits.reserve(static_cast<size_t>(result.samples.size() * table.num_labels));

  const bool was_training = model.is_training();
  model.eval();
  const c10::Device device = model.parameters().front().device();
  c10::InferenceMode inference;
  while (auto loaded = loader.next()) {
    const data::Batch& batch = loaded->batch;
    auto as_tensor = [&](const std::vector<int64_t>& values) {
      // from_blob does not copy: `batch` outlives the forward pass.
      return at::from_blob(const_cast<int64_t*>(values.data()), {batch.batch_size, batch.seq_len}, at::kLong)
          .to(device);
    };
    const at::Tensor logits = model
                                  .forward(as_tensor(batch.input_ids), as_tensor(batch.attention_mask),
                                           as_tensor(batch.token_type_ids))
                                  .logits.to(at::kCPU, at::kFloat)
                                  .contiguous();
    const float* values = logits.data_ptr<float>();
    table.logits.insert(table.logits.end(), values, values + logits.numel());
    // Ranks with fewer batches wait for this one in the gather; each batch shows it is not stuck.
    dist::RankActivity::process().mark_progress();
    table.class_labels.insert(table.class_labels.end(), batch.class_labels.begin(), batch.class_labels.end());
    table.regression_labels.insert(table.regression_labels.end(), batch.regression_labels.begin(),
                                   batch.regression_labels.end());
  }
  model.train(was_training);
  return result;
}

data::PredictionsTable predict_distributed(model::BertForSequenceClassificationImpl& model,
                                           const data::DatasetReader& dataset, dist::Communicator& comm,
                                           int64_t batch_size) {
  const PartitionPredictions local = predict_partition(model, dataset, comm.rank(), comm.size(), batch_size);
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

}  // namespace dtrain::tasks::classification
