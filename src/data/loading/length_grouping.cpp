#include "data/loading/length_grouping.h"

#include <algorithm>

#include "common/error.h"

namespace dtrain::data {

int64_t length_megabatch_size(int64_t num_samples, int64_t batch_size) {
  const int64_t batches = std::clamp<int64_t>(num_samples / (4 * batch_size), 1, 50);
  return batches * batch_size;
}

std::vector<int64_t> lengths_from_offsets(const std::vector<int64_t>& offsets) {
  std::vector<int64_t> lengths(offsets.empty() ? 0 : offsets.size() - 1);
  for (size_t i = 0; i < lengths.size(); ++i) lengths[i] = offsets[i + 1] - offsets[i];
  return lengths;
}

std::vector<int64_t> group_by_length(std::vector<int64_t> permutation, const std::vector<int64_t>& lengths,
                                     int64_t batch_size) {
  DTRAIN_ASSERT(permutation.size() == lengths.size(), "{} lengths for {} samples", lengths.size(),
                permutation.size());
  const auto total = static_cast<int64_t>(permutation.size());
  const int64_t megabatch = length_megabatch_size(total, batch_size);
  const auto length_of = [&](int64_t sample) { return lengths[static_cast<size_t>(sample)]; };
  int64_t longest_megabatch_start = 0;
  for (int64_t start = 0; start < total; start += megabatch) {
    const auto first = permutation.begin() + start;
    const auto last = permutation.begin() + std::min(start + megabatch, total);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return length_of(a) > length_of(b); });
    // Strictly greater: the first megabatch with the maximum wins, as torch.argmax picks it.
    if (length_of(*first) > length_of(permutation[static_cast<size_t>(longest_megabatch_start)])) {
      longest_megabatch_start = start;
    }
  }
  if (total > 0) std::swap(permutation.front(), permutation[static_cast<size_t>(longest_megabatch_start)]);
  return permutation;
}

}  // namespace dtrain::data
