#pragma once
// Evaluation work split: every sample is evaluated exactly once at any world size, each rank taking
// one contiguous block in dataset order, so rank 0 can concatenate the gathered per-rank results
// (rank 0's block, then rank 1's, ...) and get predictions in dataset order.
//
// The dataset is first cut into global batches of batch_size in dataset order, and ranks receive
// whole batches: every batch — and so its padding and its arithmetic — is the same at any world
// size, which makes evaluation results bit-identical on 1, 2 or 3 ranks.
#include <cstdint>
#include <vector>

#include "data/loading/index_range.h"

namespace dtrain::data {

// This rank's block of dataset indices: whole batches of batch_size (the dataset's last batch may be
// smaller); batch counts differ by at most one, the first ranks taking the extra batches; a rank
// gets an empty block when there are fewer batches than ranks.
IndexRange eval_partition(int64_t num_samples, int64_t batch_size, int rank, int world_size);

// The rank's block cut in order into batches of batch_size (the last may be smaller).
std::vector<IndexRange> eval_batches(const IndexRange& block, int64_t batch_size);

}  // namespace dtrain::data
