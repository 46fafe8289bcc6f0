#pragma once
// A seeded random source whose output is identical on every platform and standard library.
// std::shuffle and std::uniform_int_distribution are implementation-defined, so two ranks built
// against different libraries (or a resumed run on another machine) could disagree on the order.
#include <cstdint>
#include <vector>

namespace dtrain::data {

// SplitMix64 (Steele, Lea, Flood 2014): tiny state, full 64-bit period, good enough statistics
// for shuffling, and trivially reproducible.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, bound) without modulo bias; bound > 0.
  uint64_t below(uint64_t bound);

 private:
  uint64_t state_;
};

// One well-mixed seed per (seed, stream) pair, e.g. per epoch, so streams do not overlap visibly.
uint64_t derive_seed(uint64_t seed, uint64_t stream);

// A uniformly random permutation of 0..count-1 (Fisher-Yates driven by SplitMix64).
std::vector<int64_t> random_permutation(int64_t count, uint64_t seed);

}  // namespace dtrain::data
