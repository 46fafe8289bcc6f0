#include "model/dropout.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <mutex>

#include "common/error.h"

namespace dtrain::model {
namespace {

// splitmix64's output function applied to seed + index * its increment (Steele, Lea, Flood 2014).
inline std::uint64_t splitmix64(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Each 64-bit draw decides two elements by its two 32-bit halves.
template <typename scalar_t>
void fill_mask(scalar_t* mask, std::int64_t numel, double p, std::uint64_t seed) {
  const auto threshold = static_cast<std::uint64_t>(std::llround(p * 4294967296.0));  // drop iff half < it
  const auto keep = static_cast<scalar_t>(1.0 / (1.0 - p));
  const auto drop = static_cast<scalar_t>(0.0);
  const std::int64_t pairs = (numel + 1) / 2;
  at::parallel_for(0, pairs, 1 << 14, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t pair = begin; pair < end; ++pair) {
      const std::uint64_t bits = splitmix64(seed, static_cast<std::uint64_t>(pair));
      const std::int64_t first = 2 * pair;
      mask[first] = (bits & 0xFFFFFFFFull) < threshold ? drop : keep;
      if (first + 1 < numel) mask[first + 1] = (bits >> 32) < threshold ? drop : keep;
    }
  });
}

std::uint64_t next_seed() {
  auto* generator = at::check_generator<at::CPUGeneratorImpl>(at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(generator->mutex_);
  return generator->random64();
}

}  // namespace

at::Tensor dropout_mask(at::IntArrayRef sizes, double p, std::uint64_t seed,
                        const at::TensorOptions& options) {
  DTRAIN_CHECK(p >= 0 && p < 1, "dropout probability must be in [0, 1) for a mask, got {}", p);
  at::Tensor mask = at::empty(sizes, options.device(at::kCPU).requires_grad(false));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, mask.scalar_type(), "dropout_mask",
                                  [&] { fill_mask(mask.data_ptr<scalar_t>(), mask.numel(), p, seed); });
  return mask;
}

at::Tensor dropout(const at::Tensor& input, double p, bool training) {
  DTRAIN_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got {}", p);
  if (!training || p == 0 || input.numel() == 0) return input;
  if (!input.device().is_cpu() || p == 1) return at::dropout(input, p, training);
  return input * dropout_mask(input.sizes(), p, next_seed(), input.options());
}

}  // namespace dtrain::model
