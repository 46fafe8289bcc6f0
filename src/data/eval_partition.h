#pragma once
// Evaluation work split: every sample is evaluated exactly once at any world size, each rank taking
// one contiguous block in dataset order, so rank 0 can concatenate the gathered per-rank results
// (rank 0's block, then rank 1's, ...) and get predictions in dataset order.
#include <cstdint>
#include <vector>

#include "data/index_range.h"

namespace dtrain::data {

// This rank's block of dataset indices: sizes differ by at most one, the first ranks taking the
// extra samples; a rank gets an empty block when there are fewer samples than ranks.
IndexRange eval_partition(int64_t num_samples, int rank, int world_size);

// The rank's block cut in order into batches of batch_size (the last may be smaller).
std::vector<IndexRange> eval_batches(const IndexRange& block, int64_t batch_size);

}  // namespace dtrain::data
