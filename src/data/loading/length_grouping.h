#pragma once
// Hugging Face `group_by_length` ordering (transformers' get_length_grouped_indices, used by
// LengthGroupedSampler): batches of similar length waste less compute on padding, while a random
// base permutation keeps the order different every epoch.
#include <cstdint>
#include <vector>

namespace dtrain::data {

// Megabatch size Hugging Face uses: min(num_samples / (4 * batch_size), 50) batches, at least one.
int64_t length_megabatch_size(int64_t num_samples, int64_t batch_size);

// Token count of each sample from a dataset's /offsets index (num_samples + 1 entries).
std::vector<int64_t> lengths_from_offsets(const std::vector<int64_t>& offsets);

// Cuts `permutation` into megabatches of length_megabatch_size, sorts each by length descending
// (stable, like Python's sorted), then swaps the first element of the megabatch holding the longest
// sample with the first element overall, so the first batch hits peak memory immediately.
std::vector<int64_t> group_by_length(std::vector<int64_t> permutation, const std::vector<int64_t>& lengths,
                                     int64_t batch_size);

}  // namespace dtrain::data
