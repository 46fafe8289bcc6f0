#include "dist/half_sum.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace dtrain::dist {
namespace {

// Every fp16 bit pattern, each paired with a scrambled partner, and an odd count so that the
// vector kernel's scalar tail runs too.
struct HalfPairs {
  std::vector<std::uint16_t> in;
  std::vector<std::uint16_t> inout;
  HalfPairs() {
    for (std::uint32_t i = 0; i < 65536; ++i) {
      in.push_back(static_cast<std::uint16_t>(i));
      inout.push_back(static_cast<std::uint16_t>((i * 40503u + 12345u) & 0xffffu));
    }
    in.push_back(0x3c00);     // 1.0
    inout.push_back(0x4000);  // 2.0
  }
};

bool is_nan(std::uint16_t bits) {
  return (bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0;
}

TEST(HalfSum, MatchesATenHalfAdditionOnEveryBitPattern) {
  HalfPairs pairs;
  const auto count = static_cast<std::int64_t>(pairs.in.size());
  const at::Tensor a = at::from_blob(pairs.in.data(), {count}, at::kShort).view(at::kHalf).to(at::kFloat);
  const at::Tensor b = at::from_blob(pairs.inout.data(), {count}, at::kShort).view(at::kHalf).to(at::kFloat);
  const at::Tensor expected = (a + b).to(at::kHalf).view(at::kShort);
  std::vector<std::uint16_t> result = pairs.inout;
  add_half_into(pairs.in.data(), result.data(), result.size());
  const auto* expected_bits = reinterpret_cast<const std::uint16_t*>(expected.data_ptr<std::int16_t>());
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (is_nan(expected_bits[i])) {
      ASSERT_TRUE(is_nan(result[i])) << "element " << i;
    } else {
      ASSERT_EQ(result[i], expected_bits[i])
          << "element " << i << ": " << pairs.in[i] << " + " << pairs.inout[i];
    }
  }
}

TEST(HalfSum, PortableKernelAgreesWithTheDispatchedOne) {
  HalfPairs pairs;
  std::vector<std::uint16_t> fast = pairs.inout;
  std::vector<std::uint16_t> portable = pairs.inout;
  add_half_into(pairs.in.data(), fast.data(), fast.size());
  add_half_into_portable(pairs.in.data(), portable.data(), portable.size());
  for (std::size_t i = 0; i < fast.size(); ++i) {
    if (is_nan(portable[i])) {
      ASSERT_TRUE(is_nan(fast[i])) << "element " << i;
    } else {
      ASSERT_EQ(fast[i], portable[i]) << "element " << i;
    }
  }
}

}  // namespace
}  // namespace dtrain::dist
