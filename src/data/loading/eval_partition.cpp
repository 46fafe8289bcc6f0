#include "data/loading/eval_partition.h"

#include <algorithm>

#include "common/error.h"

namespace dtrain::data {

IndexRange eval_partition(int64_t num_samples, int64_t batch_size, int rank, int world_size) {
  DTRAIN_ASSERT(world_size > 0 && rank >= 0 && rank < world_size, "rank {} of world size {}", rank,
                world_size);
  DTRAIN_ASSERT(num_samples >= 0, "negative sample count {}", num_samples);
  DTRAIN_CHECK(batch_size > 0, "per_device_eval_batch_size must be positive (got {})", batch_size);
  const int64_t num_batches = (num_samples + batch_size - 1) / batch_size;
  const IndexRange batches = contiguous_block(num_batches, world_size, rank);
  return {std::min(batches.begin * batch_size, num_samples), std::min(batches.end * batch_size, num_samples)};
}

std::vector<IndexRange> eval_batches(const IndexRange& block, int64_t batch_size) {
  DTRAIN_CHECK(batch_size > 0, "per_device_eval_batch_size must be positive (got {})", batch_size);
  return cut_into_pieces(block, batch_size);
}

}  // namespace dtrain::data
