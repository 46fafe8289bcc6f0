#include "train/grad_clip.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace dtrain::train {
namespace {

std::vector<at::Tensor> parameters_with_gradients() {
  // Gradients (3, 4) and (12): global norm sqrt(9 + 16 + 144) = 13.
  std::vector<at::Tensor> parameters = {at::zeros({2}).requires_grad_(), at::zeros({1}).requires_grad_(),
                                        at::zeros({3}).requires_grad_()};
  parameters[0].mutable_grad() = at::tensor({3.0f, 4.0f});
  parameters[1].mutable_grad() = at::tensor({12.0f});
  return parameters;  // the third has no gradient and is ignored
}

TEST(ClipGradNorm, ScalesAllGradientsToTheMaximumAndReturnsTheNormBefore) {
  std::vector<at::Tensor> parameters = parameters_with_gradients();
  EXPECT_NEAR(clip_grad_norm(parameters, 6.5), 13.0, 1e-5);
  const float factor = static_cast<float>(6.5 / (13.0 + 1e-6));
  EXPECT_TRUE(at::allclose(parameters[0].grad(), at::tensor({3.0f * factor, 4.0f * factor})));
  EXPECT_TRUE(at::allclose(parameters[1].grad(), at::tensor({12.0f * factor})));
  EXPECT_NEAR(clip_grad_norm(parameters, 6.5), 6.5, 1e-5);
  EXPECT_FALSE(parameters[2].grad().defined());
}

TEST(ClipGradNorm, LeavesGradientsBelowTheMaximumAlone) {
  std::vector<at::Tensor> parameters = parameters_with_gradients();
  EXPECT_NEAR(clip_grad_norm(parameters, 100.0), 13.0, 1e-5);
  EXPECT_TRUE(at::equal(parameters[0].grad(), at::tensor({3.0f, 4.0f})));
}

TEST(ClipGradNorm, NoGradientsMeansNormZero) {
  EXPECT_EQ(clip_grad_norm({at::zeros({2}).requires_grad_()}, 1.0), 0.0);
  EXPECT_EQ(grad_norm({at::zeros({2}).requires_grad_()}), 0.0);
}

TEST(ClipGradNorm, NormWithoutClippingLeavesGradientsAlone) {
  std::vector<at::Tensor> parameters = parameters_with_gradients();
  EXPECT_NEAR(grad_norm(parameters), 13.0, 1e-5);
  EXPECT_TRUE(at::equal(parameters[1].grad(), at::tensor({12.0f})));
}

}  // namespace
}  // namespace dtrain::train
