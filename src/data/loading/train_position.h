#pragma once
// Where training stands in the data stream, saved in checkpoints: enough to restore the exact next
// global batch without reading the samples already trained on. The count is GLOBAL (all ranks), so
// a run resumed on a different world size with the same global batch continues with the same batches.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>

namespace dtrain::data {

class TrainSampler;

struct TrainPosition {
  int64_t epoch = 0;
  int64_t samples_consumed_in_epoch = 0;  // always a whole number of steps
  uint64_t seed = 0;
  int64_t global_batch_size = 0;

  friend bool operator==(const TrainPosition& a, const TrainPosition& b) {
    return a.epoch == b.epoch && a.samples_consumed_in_epoch == b.samples_consumed_in_epoch &&
           a.seed == b.seed && a.global_batch_size == b.global_batch_size;
  }
};

// The start of epoch 0 for this sampler.
TrainPosition initial_position(const TrainSampler& sampler);

// The step within position.epoch that comes next. Throws dtrain::Error when the position was saved
// with another seed or global batch size, or does not fall on a step boundary of this dataset.
int64_t next_step(const TrainSampler& sampler, const TrainPosition& position);

// The position after training on step next_step(position); moves to the next epoch after its last step.
TrainPosition advance(const TrainSampler& sampler, const TrainPosition& position);

// JSON object {"epoch", "samples_consumed_in_epoch", "seed", "global_batch_size"} for checkpoints.
void to_json(nlohmann::json& json, const TrainPosition& position);
// Throws dtrain::Error naming the missing or mistyped field.
void from_json(const nlohmann::json& json, TrainPosition& position);

}  // namespace dtrain::data
