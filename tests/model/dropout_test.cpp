#include "model/dropout.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>

namespace dtrain::model {
namespace {

constexpr std::int64_t kElements = 1 << 20;

TEST(Dropout, MaskDropsAFractionPAndScalesTheRestByOneOverOneMinusP) {
  for (const double p : {0.1, 0.5, 0.9}) {
    const at::Tensor mask = dropout_mask({kElements}, p, 1234, at::kFloat);
    const at::Tensor dropped = mask.eq(0);
    const at::Tensor kept = mask.eq(static_cast<float>(1.0 / (1.0 - p)));
    EXPECT_EQ(dropped.logical_or(kept).sum().item<int64_t>(), kElements) << "values other than 0 and 1/(1-p)";
    // Binomial(n, p): the drop fraction within 6 standard deviations of p.
    const double fraction = dropped.to(at::kDouble).mean().item<double>();
    EXPECT_NEAR(fraction, p, 6 * std::sqrt(p * (1 - p) / kElements)) << "p " << p;
    // Neighbours share one 64-bit draw: both dropped as often as independent draws would be.
    const at::Tensor pairs = dropped.view({-1, 2});
    const double both =
        pairs.select(1, 0).logical_and(pairs.select(1, 1)).to(at::kDouble).mean().item<double>();
    EXPECT_NEAR(both, p * p, 6 * std::sqrt(p * p * (1 - p * p) / (kElements / 2))) << "p " << p;
  }
}

TEST(Dropout, TheMaskDependsOnTheSeedAloneNotOnTheThreadCount) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const at::Tensor one_thread = dropout_mask({kElements + 1}, 0.3, 99, at::kFloat);
  at::set_num_threads(2);
  const at::Tensor two_threads = dropout_mask({kElements + 1}, 0.3, 99, at::kFloat);
  at::set_num_threads(threads);
  EXPECT_TRUE(one_thread.equal(two_threads));
  EXPECT_FALSE(one_thread.equal(dropout_mask({kElements + 1}, 0.3, 100, at::kFloat)));
  // A prefix of a longer mask is the shorter mask: element i is decided by (seed, i).
  EXPECT_TRUE(dropout_mask({1001}, 0.3, 99, at::kFloat).equal(one_thread.narrow(0, 0, 1001)));
}

TEST(Dropout, FollowsTorchsSeedAndIsTheIdentityOutsideTraining) {
  const at::Tensor input = at::randn({64, 33});
  at::manual_seed(5);
  const at::Tensor first = model::dropout(input, 0.2, /*training=*/true);
  at::manual_seed(5);
  EXPECT_TRUE(model::dropout(input, 0.2, true).equal(first));
  EXPECT_FALSE(model::dropout(input, 0.2, true).equal(first)) << "the generator did not advance";
  EXPECT_TRUE(model::dropout(input, 0.2, /*training=*/false).is_same(input));
  EXPECT_TRUE(model::dropout(input, 0.0, true).is_same(input));
  EXPECT_TRUE(model::dropout(input, 1.0, true).equal(at::zeros_like(input)));
  EXPECT_THROW(model::dropout(input, 1.5, true), std::exception);
}

TEST(Dropout, GradientIsTheMask) {
  const at::Tensor input = at::rand({40, 50}).add_(0.5).requires_grad_();
  const at::Tensor output = model::dropout(input, 0.25, true);
  output.sum().backward();
  const at::Tensor mask = output.detach() / input.detach();
  EXPECT_TRUE(at::allclose(input.grad(), mask));
  EXPECT_TRUE(
      output.detach().eq(0).logical_or(at::isclose(mask, at::full_like(mask, 1 / 0.75))).all().item<bool>());
}

TEST(Dropout, ReducedPrecisionInputsGetAMaskOfTheirType) {
  const at::Tensor input = at::ones({1000}, at::kBFloat16);
  const at::Tensor output = model::dropout(input, 0.5, true);
  EXPECT_EQ(output.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(output.eq(0).logical_or(output.eq(2)).all().item<bool>());
}

}  // namespace
}  // namespace dtrain::model
