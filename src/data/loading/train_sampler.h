#pragma once
// Training order. The samples of optimizer step k depend only on (seed, epoch, global batch size),
// never on the world size, so a run on 1, 2 or 3 ranks (or resumed on another count) trains on the
// same global batches:
//   epoch order   = a seeded permutation of all samples (optionally length-grouped)
//   step k        = positions [k*G, (k+1)*G) of the epoch order, G = global batch size
//   rank r        = contiguous_block(step size, world size, r) of the step's positions
//   micro-batch m = the m-th per_device_batch_size piece of the rank's block
// Without drop_last the final step of an epoch holds the remainder; it is split over ranks by the
// same rule, so some ranks run fewer (possibly zero) micro-batches. With drop_last it is skipped.
#include <cstdint>
#include <vector>

#include "data/loading/index_range.h"

namespace dtrain::data {

// How a global batch is spread: per_device × world_size × gradient_accumulation_steps.
struct BatchGeometry {
  int64_t per_device_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  int world_size = 1;

  int64_t global_batch_size() const {
    return per_device_batch_size * gradient_accumulation_steps * world_size;
  }
  // Throws dtrain::Error naming the offending setting when any is not positive.
  void validate() const;
};

struct SamplerOptions {
  uint64_t seed = 42;
  bool drop_last = false;        // dataloader_drop_last
  bool group_by_length = false;  // Hugging Face group_by_length
};

class TrainSampler {
 public:
  // `lengths` (token count per sample) is required with group_by_length and ignored otherwise.
  // Throws dtrain::Error when an epoch would have no step (empty dataset, or drop_last with fewer
  // samples than one global batch).
  TrainSampler(int64_t num_samples, int64_t global_batch_size, const SamplerOptions& options,
               std::vector<int64_t> lengths = {});

  int64_t num_samples() const { return num_samples_; }
  int64_t global_batch_size() const { return global_batch_size_; }
  const SamplerOptions& options() const { return options_; }
  // Samples trained on per epoch: all of them, or the full global batches only with drop_last.
  int64_t samples_per_epoch() const;
  int64_t steps_per_epoch() const;

  // The epoch's order of sample indices: a permutation of all samples (with drop_last its tail
  // beyond samples_per_epoch() is simply not used).
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // Positions of step `step` within the epoch order.
  IndexRange step_positions(int64_t step) const;

 private:
  int64_t num_samples_;
  int64_t global_batch_size_;
  SamplerOptions options_;
  std::vector<int64_t> lengths_;
};

// This rank's micro-batches of a step holding `step_size` samples, as positions relative to the
// step's first position. Only non-empty micro-batches are returned: a full step gives every rank
// gradient_accumulation_steps micro-batches of per_device_batch_size; a short final step gives
// fewer, smaller or none.
std::vector<IndexRange> rank_micro_batches(int64_t step_size, const BatchGeometry& geometry, int rank);

}  // namespace dtrain::data
