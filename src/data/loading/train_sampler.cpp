#include "data/loading/train_sampler.h"

#include "common/error.h"
#include "data/loading/deterministic_random.h"
#include "data/loading/length_grouping.h"

namespace dtrain::data {

void BatchGeometry::validate() const {
  DTRAIN_CHECK(per_device_batch_size > 0, "per_device_train_batch_size must be positive (got {})",
               per_device_batch_size);
  DTRAIN_CHECK(gradient_accumulation_steps > 0, "gradient_accumulation_steps must be positive (got {})",
               gradient_accumulation_steps);
  DTRAIN_CHECK(world_size > 0, "world size must be positive (got {})", world_size);
}

TrainSampler::TrainSampler(int64_t num_samples, int64_t global_batch_size, const SamplerOptions& options,
                           std::vector<int64_t> lengths)
    : num_samples_(num_samples),
      global_batch_size_(global_batch_size),
      options_(options),
      lengths_(std::move(lengths)) {
  DTRAIN_CHECK(num_samples > 0, "the training dataset is empty");
  DTRAIN_CHECK(global_batch_size > 0, "the global batch size must be positive (got {})", global_batch_size);
  DTRAIN_CHECK(steps_per_epoch() > 0,
               "dataloader_drop_last leaves no training step: {} samples are fewer than one global batch "
               "of {} (per_device_train_batch_size x world size x gradient_accumulation_steps)",
               num_samples, global_batch_size);
  if (options.group_by_length) {
    DTRAIN_ASSERT(static_cast<int64_t>(lengths_.size()) == num_samples,
                  "group_by_length needs {} lengths, got {}", num_samples, lengths_.size());
  } else {
    lengths_.clear();
  }
}

int64_t TrainSampler::samples_per_epoch() const {
  return options_.drop_last ? num_samples_ / global_batch_size_ * global_batch_size_ : num_samples_;
}

int64_t TrainSampler::steps_per_epoch() const {
  return (samples_per_epoch() + global_batch_size_ - 1) / global_batch_size_;
}

std::vector<int64_t> TrainSampler::epoch_order(int64_t epoch) const {
  DTRAIN_ASSERT(epoch >= 0, "negative epoch {}", epoch);
  auto order = random_permutation(num_samples_, derive_seed(options_.seed, static_cast<uint64_t>(epoch)));
  if (options_.group_by_length) return group_by_length(std::move(order), lengths_, global_batch_size_);
  return order;
}

IndexRange TrainSampler::step_positions(int64_t step) const {
  DTRAIN_ASSERT(step >= 0 && step < steps_per_epoch(), "step {} of an epoch of {} steps", step,
                steps_per_epoch());
  const int64_t begin = step * global_batch_size_;
  return {begin, std::min(begin + global_batch_size_, samples_per_epoch())};
}

std::vector<IndexRange> rank_micro_batches(int64_t step_size, const BatchGeometry& geometry, int rank) {
  DTRAIN_ASSERT(rank >= 0 && rank < geometry.world_size, "rank {} of world size {}", rank,
                geometry.world_size);
  DTRAIN_ASSERT(step_size <= geometry.global_batch_size(), "step of {} samples exceeds the global batch {}",
                step_size, geometry.global_batch_size());
  return cut_into_pieces(contiguous_block(step_size, geometry.world_size, rank),
                         geometry.per_device_batch_size);
}

}  // namespace dtrain::data
