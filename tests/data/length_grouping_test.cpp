#include "data/loading/length_grouping.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "data/loading/deterministic_random.h"

namespace dtrain::data {
namespace {

std::vector<int64_t> random_lengths(size_t count, uint64_t seed) {
  SplitMix64 random(seed);
  std::vector<int64_t> lengths(count);
  for (auto& length : lengths) length = 2 + static_cast<int64_t>(random.below(60));
  return lengths;
}

TEST(LengthGrouping, MegabatchSizeFollowsHuggingFace) {
  EXPECT_EQ(length_megabatch_size(10, 8), 8);           // fewer than 4 batches: one batch
  EXPECT_EQ(length_megabatch_size(320, 8), 10 * 8);     // 320 / 32 = 10 batches
  EXPECT_EQ(length_megabatch_size(100000, 8), 50 * 8);  // capped at 50
}

TEST(LengthGrouping, PermutationSortedPerMegabatchWithTheLongestFirst) {
  for (size_t count : {1, 5, 97, 1000, 5003}) {
    for (int64_t batch_size : {1, 4, 16}) {
      const auto lengths = random_lengths(count, count + static_cast<size_t>(batch_size));
      const auto permutation = random_permutation(static_cast<int64_t>(count), 99);
      const auto grouped = group_by_length(permutation, lengths, batch_size);

      auto sorted_grouped = grouped;
      std::sort(sorted_grouped.begin(), sorted_grouped.end());
      auto sorted_permutation = permutation;
      std::sort(sorted_permutation.begin(), sorted_permutation.end());
      ASSERT_EQ(sorted_grouped, sorted_permutation);

      const auto length_of = [&](int64_t sample) { return lengths[static_cast<size_t>(sample)]; };
      EXPECT_EQ(length_of(grouped[0]), *std::max_element(lengths.begin(), lengths.end()));
      const auto megabatch =
          static_cast<size_t>(length_megabatch_size(static_cast<int64_t>(count), batch_size));
      for (size_t start = 0; start < count; start += megabatch) {
        const size_t end = std::min(start + megabatch, count);
        // Same members as the permutation's megabatch, apart from the one swapped head element.
        std::vector<int64_t> members(grouped.begin() + start + 1, grouped.begin() + end);
        std::vector<int64_t> source(permutation.begin() + start, permutation.begin() + end);
        for (int64_t sample : members)
          EXPECT_NE(std::find(source.begin(), source.end(), sample), source.end());
        // Sorted by length descending after the head (the head may be the swapped-in element).
        for (size_t i = start + 2; i < end; ++i) EXPECT_GE(length_of(grouped[i - 1]), length_of(grouped[i]));
      }
    }
  }
}

TEST(LengthGrouping, EqualLengthsKeepThePermutationOrder) {
  const std::vector<int64_t> lengths(40, 7);
  const auto permutation = random_permutation(40, 5);
  EXPECT_EQ(group_by_length(permutation, lengths, 2), permutation);
}

TEST(LengthGrouping, LengthsComeFromTheOffsetsIndex) {
  EXPECT_EQ(lengths_from_offsets({0, 3, 4, 10}), (std::vector<int64_t>{3, 1, 6}));
  EXPECT_TRUE(lengths_from_offsets({0}).empty());
}

}  // namespace
}  // namespace dtrain::data
