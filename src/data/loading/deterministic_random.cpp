#include "data/loading/deterministic_random.h"

#include <cstddef>
#include <numeric>
#include <utility>

namespace dtrain::data {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t bound) {
  // Reject the few values at the bottom of the range that would make `value % bound` favour small
  // results; (2^64 - bound) % bound is how many there are.
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t value = next();
    if (value >= threshold) return value % bound;
  }
}

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  // Hashing the stream before combining keeps nearby (seed, stream) pairs from sharing state.
  return SplitMix64(seed ^ SplitMix64(stream).next()).next();
}

std::vector<int64_t> random_permutation(int64_t count, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), int64_t{0});
  SplitMix64 random(seed);
  for (int64_t i = count - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(random.below(static_cast<uint64_t>(i) + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

}  // namespace dtrain::data
