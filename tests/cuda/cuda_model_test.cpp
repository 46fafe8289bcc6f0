// The model and autocast on a GPU (label `cuda`): BERT's logits on the GPU equal the CPU's (which the
// model tests hold to transformers) within fp32 tolerances, and within fp16 tolerances under autocast.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/nn/module.h>

#include <optional>

#include "model/bert/bert_config.h"
#include "model/bert/bert_model.h"
#include "model/device.h"

namespace dtrain::train {
namespace {

const at::Device kGpu(at::kCUDA, 0);

#define DTRAIN_REQUIRE_GPU() \
  ASSERT_GT(torch::cuda::device_count(), 0u) << "no GPU visible to LibTorch (these tests need one)"

TEST(Autocast, Fp16GuardRunsMatmulsInHalfAndRestoresFp32) {
  DTRAIN_REQUIRE_GPU();
  at::manual_seed(0);
  const at::Tensor a = at::randn({64, 128}), b = at::randn({128, 32});
  const at::Tensor reference = at::matmul(a.to(at::kDouble), b.to(at::kDouble));
  {
    model::AutocastGuard autocast(c10::kCUDA, at::kHalf);
    const at::Tensor product = at::matmul(a.to(kGpu), b.to(kGpu));
    EXPECT_EQ(product.scalar_type(), at::kHalf);
    // Inputs rounded to fp16 (relative 2^-11 each), fp32 accumulation: |error| <= 2^-10 sum |a||b|.
    const at::Tensor bound =
        at::matmul(a.abs().to(at::kDouble), b.abs().to(at::kDouble)) * std::ldexp(1.0, -9);
    EXPECT_TRUE(at::all((product.cpu().to(at::kDouble) - reference).abs() <= bound).item<bool>());
  }
  EXPECT_EQ(at::matmul(a.to(kGpu), b.to(kGpu)).scalar_type(), at::kFloat);
  {
    model::AutocastGuard off(c10::kCUDA, std::nullopt);
    EXPECT_EQ(at::matmul(a.to(kGpu), b.to(kGpu)).scalar_type(), at::kFloat);
  }
}

TEST(Autocast, Bf16GuardRunsMatmulsInBfloat16) {
  DTRAIN_REQUIRE_GPU();
  model::AutocastGuard autocast(c10::kCUDA, at::kBFloat16);
  EXPECT_EQ(at::matmul(at::ones({8, 8}, kGpu), at::ones({8, 8}, kGpu)).scalar_type(), at::kBFloat16);
}

class BertOnGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    DTRAIN_REQUIRE_GPU();
    model::BertConfig config;  // BERT-base shapes, random init; dropout is off in eval mode
    config.vocab_size = 1000;
    config.num_hidden_layers = 4;
    config.set_num_labels(3);
    cpu_model_ = model::BertForSequenceClassification(config, 42);
    gpu_model_ = model::BertForSequenceClassification(config, 42);
    gpu_model_->to(kGpu);
    cpu_model_->eval();
    gpu_model_->eval();
    at::manual_seed(1);
    input_ids_ = at::randint(1, config.vocab_size, {8, 128}, at::kLong);
    token_type_ids_ = (at::arange(128, at::kLong) >= 64).to(at::kLong).expand({8, 128}).contiguous();
    attention_mask_ = at::ones({8, 128}, at::kLong);
    attention_mask_.slice(0, 4).slice(1, 100).zero_();  // half the rows padded after 100 tokens
    labels_ = at::randint(0, 3, {8}, at::kLong);
  }

  model::SequenceClassifierOutput run_on_gpu() {
    return gpu_model_->forward(input_ids_.to(kGpu), attention_mask_.to(kGpu), token_type_ids_.to(kGpu),
                               labels_.to(kGpu));
  }

  model::BertForSequenceClassification cpu_model_{nullptr}, gpu_model_{nullptr};
  at::Tensor input_ids_, token_type_ids_, attention_mask_, labels_;
};

TEST_F(BertOnGpu, Fp32LogitsAndLossEqualTheCpu) {
  at::NoGradGuard no_grad;
  const auto cpu = cpu_model_->forward(input_ids_, attention_mask_, token_type_ids_, labels_);
  // TF32 would round matmul inputs to 10 bits: dtrain leaves LibTorch's default (off) for fp32.
  const auto gpu = run_on_gpu();
  EXPECT_EQ(gpu.logits.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::allclose(gpu.logits.cpu(), cpu.logits, 1e-4, 1e-4))
      << "largest difference " << (gpu.logits.cpu() - cpu.logits).abs().max().item<float>();
  EXPECT_NEAR(gpu.loss->item<double>(), cpu.loss->item<double>(), 1e-4);
}

TEST_F(BertOnGpu, Fp16AutocastLogitsAndLossEqualTheCpuWithinHalfPrecision) {
  at::NoGradGuard no_grad;
  const auto cpu = cpu_model_->forward(input_ids_, attention_mask_, token_type_ids_, labels_);
  model::AutocastGuard autocast(c10::kCUDA, at::kHalf);
  const auto gpu = run_on_gpu();
  // Logits are O(0.1-1) after 4 layers of fp16 matmuls (2^-11 relative each, fp32 accumulation and
  // LayerNorm): 1e-2 absolute is a few hundred fp16 ulps, far below any wrong-kernel difference.
  const at::Tensor logits = gpu.logits.cpu().to(at::kFloat);
  EXPECT_TRUE(at::allclose(logits, cpu.logits, 1e-2, 1e-2))
      << "largest difference " << (logits - cpu.logits).abs().max().item<float>();
  EXPECT_NEAR(gpu.loss->item<double>(), cpu.loss->item<double>(), 1e-2);
}

TEST_F(BertOnGpu, Fp16GradientsEqualTheCpuWithinHalfPrecision) {
  cpu_model_->forward(input_ids_, attention_mask_, token_type_ids_, labels_).loss->backward();
  {
    model::AutocastGuard autocast(c10::kCUDA, at::kHalf);
    run_on_gpu().loss->backward();
  }
  const auto cpu_parameters = cpu_model_->named_parameters();
  const auto gpu_parameters = gpu_model_->named_parameters();
  for (const auto& item : cpu_parameters) {
    const at::Tensor expected = item.value().grad();
    const at::Tensor actual = gpu_parameters[item.key()].grad().cpu();
    ASSERT_EQ(actual.scalar_type(), at::kFloat) << item.key();  // master gradients stay fp32
    const double scale = expected.abs().max().item<double>() + 1e-6;
    EXPECT_LE((actual - expected).abs().max().item<double>(), 2e-2 * scale) << item.key();
  }
}

}  // namespace
}  // namespace dtrain::train
