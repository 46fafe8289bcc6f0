#include "model/predict.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "common/error.h"
#include "data/loading/loader.h"
#include "dist/rank_activity.h"

namespace dtrain::model {

PartitionPredictions predict_partition(BertForSequenceClassificationImpl& model,
                                       const data::DatasetReader& reader, int rank, int world_size,
                                       int64_t batch_size) {
  DTRAIN_CHECK(batch_size > 0, "batch size must be positive, got {}", batch_size);
  data::LoaderOptions options;
  options.collate.pad_id = reader.info().pad_id;
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

}  // namespace dtrain::model
