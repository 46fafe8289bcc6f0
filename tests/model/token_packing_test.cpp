#include "model/token_packing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace dtrain::model {
namespace {

// [batch 3, seq 4]: lengths 4, 2, 1.
at::Tensor ragged_mask() {
  return at::tensor({1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0}, at::kLong).view({3, 4});
}

TEST(TokenPacking, PacksTheRealTokensAndUnpacksWithZerosAtPadding) {
  const TokenPacking packing(ragged_mask(), /*seq_length=*/4, /*batch_size=*/3);
  const at::Tensor padded = at::arange(4 * 3 * 2, at::kFloat).view({4, 3, 2}) + 1;
  const at::Tensor packed = packing.pack(padded);
  ASSERT_EQ(packed.sizes(), at::IntArrayRef({7, 2}));
  // Sequence-first order: position 0 of samples 0, 1, 2, position 1 of samples 0, 1, then sample 0.
  const std::vector<std::pair<int64_t, int64_t>> expected = {{0, 0}, {0, 1}, {0, 2}, {1, 0},
                                                             {1, 1}, {2, 0}, {3, 0}};
  for (size_t row = 0; row < expected.size(); ++row) {
    EXPECT_TRUE(packed[static_cast<int64_t>(row)].equal(padded[expected[row].first][expected[row].second]))
        << "row " << row;
  }
  const at::Tensor unpacked = packing.unpack(packed);
  const at::Tensor mask = ragged_mask().t().unsqueeze(-1).to(at::kFloat);
  EXPECT_TRUE(unpacked.equal(padded * mask));
}

TEST(TokenPacking, WithoutPaddingPackAndUnpackAreViews) {
  const at::Tensor padded = at::randn({5, 2, 3});
  for (const at::Tensor& mask : {at::Tensor(), at::ones({2, 5}, at::kLong)}) {
    const TokenPacking packing(mask, 5, 2);
    const at::Tensor packed = packing.pack(padded);
    EXPECT_EQ(packed.sizes(), at::IntArrayRef({10, 3}));
    EXPECT_TRUE(packed.is_alias_of(padded));
    EXPECT_TRUE(packing.unpack(packed).is_alias_of(padded));
  }
}

TEST(TokenPacking, GradientsFlowOnlyToRealTokens) {
  const TokenPacking packing(ragged_mask(), 4, 3);
  const at::Tensor padded = at::randn({4, 3, 2}).requires_grad_(true);
  packing.unpack(packing.pack(padded) * 2).sum().backward();
  const at::Tensor mask = ragged_mask().t().unsqueeze(-1).to(at::kFloat).expand({4, 3, 2});
  EXPECT_TRUE(padded.grad().equal(mask * 2));
}

}  // namespace
}  // namespace dtrain::model
