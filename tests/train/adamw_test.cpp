#include "train/adamw.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/error.h"
#include "support/test_support.h"

namespace dtrain::train {
namespace {

// The parameters and gradients of tests/train/adamw_reference.py, built from the same formulas.
const std::vector<std::pair<std::string, std::vector<std::int64_t>>> kShapes = {
    {"encoder.dense.weight", {4, 3}},
    {"encoder.dense.bias", {4}},
    {"encoder.LayerNorm.weight", {3}},
    {"classifier.weight", {2, 4}},
};
const std::pair<std::string, int> kSkipped = {"classifier.weight", 1};

at::Tensor values(const std::vector<std::int64_t>& shape, double phase, double frequency) {
  std::int64_t count = 1;
  for (std::int64_t extent : shape) count *= extent;
  std::vector<double> data;
  for (std::int64_t i = 0; i < count; ++i)
    data.push_back(std::sin(frequency * static_cast<double>(i) + phase));
  return at::tensor(data, at::kDouble).to(at::kFloat).reshape(shape);
}

std::vector<NamedParameter> make_parameters() {
  std::vector<NamedParameter> parameters;
  for (std::size_t k = 0; k < kShapes.size(); ++k) {
    parameters.push_back({kShapes[k].first, values(kShapes[k].second, k, 0.37).requires_grad_()});
  }
  return parameters;
}

void set_gradients(std::vector<NamedParameter>& parameters, int step) {
  for (std::size_t k = 0; k < parameters.size(); ++k) {
    const bool skip = parameters[k].name == kSkipped.first && step == kSkipped.second;
    parameters[k].tensor.mutable_grad() =
        skip ? at::Tensor() : values(kShapes[k].second, k + 0.5 * step, 0.11 * (step + 1));
  }
}

// Runs steps [first, last) of the reference sequence.
void run_steps(AdamW& optimizer, std::vector<NamedParameter>& parameters, double lr, int first, int last) {
  for (int step = first; step < last; ++step) {
    set_gradients(parameters, step);
    optimizer.set_lr(lr * (1.0 - 0.1 * step));
    optimizer.step();
  }
}

nlohmann::json torch_reference(const AdamWOptions& options, int steps) {
  const auto script = dtrain::testing::source_dir() / "tests/train/adamw_reference.py";
  const auto result = dtrain::testing::run_command(fmt::format(
      "{} {} --lr {} --beta1 {} --beta2 {} --eps {} --weight-decay {} --steps {}", dtrain::testing::python(),
      script.string(), options.lr, options.beta1, options.beta2, options.eps, options.weight_decay, steps));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return nlohmann::json::parse(result.output);
}

void expect_matches_torch(const AdamWOptions& options, int steps) {
  DTRAIN_REQUIRE_PYTHON("torch");
  const nlohmann::json expected = torch_reference(options, steps);
  std::vector<NamedParameter> parameters = make_parameters();
  AdamW optimizer(parameters, options);
  run_steps(optimizer, parameters, options.lr, 0, steps);
  for (const NamedParameter& parameter : parameters) {
    const auto reference = expected.at(parameter.name).get<std::vector<double>>();
    const at::Tensor want = at::tensor(reference, at::kDouble).to(at::kFloat);
    const at::Tensor got = parameter.tensor.detach().reshape({-1});
    EXPECT_TRUE(at::allclose(got, want, 1e-6, 1e-7))
        << parameter.name << ": largest difference " << (got - want).abs().max().item<float>();
  }
}

TEST(AdamW, MatchesTorchAdamWWithWeightDecayGroupsAndAChangingLearningRate) {
  AdamWOptions options;
  options.lr = 1e-2;
  options.beta1 = 0.8;
  options.beta2 = 0.98;
  options.eps = 1e-6;
  options.weight_decay = 0.1;
  expect_matches_torch(options, 6);
}

TEST(AdamW, DefaultsAreTheTrainerDefaultsAndMatchTorch) {
  const AdamWOptions defaults;
  EXPECT_EQ(defaults.lr, 5e-5);
  EXPECT_EQ(defaults.beta1, 0.9);
  EXPECT_EQ(defaults.beta2, 0.999);
  EXPECT_EQ(defaults.eps, 1e-8);
  EXPECT_EQ(defaults.weight_decay, 0.0);
  expect_matches_torch(defaults, 4);
}

TEST(AdamW, WeightDecaySkipsBiasesAndLayerNormWeights) {
  EXPECT_TRUE(uses_weight_decay("encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(uses_weight_decay("embeddings.word_embeddings.weight"));
  EXPECT_FALSE(uses_weight_decay("encoder.layer.0.attention.self.query.bias"));
  EXPECT_FALSE(uses_weight_decay("encoder.layer.0.output.LayerNorm.weight"));
  EXPECT_FALSE(uses_weight_decay("blocks.1.layer_norm.weight"));
}

TEST(AdamW, ResumingFromAStateDictContinuesExactly) {
  const AdamWOptions options{1e-2, 0.9, 0.99, 1e-8, 0.05};
  std::vector<NamedParameter> straight = make_parameters();
  AdamW straight_optimizer(straight, options);
  run_steps(straight_optimizer, straight, options.lr, 0, 5);

  std::vector<NamedParameter> first = make_parameters();
  AdamW first_optimizer(first, options);
  run_steps(first_optimizer, first, options.lr, 0, 3);
  AdamWState saved;
  for (const auto& [name, state] : first_optimizer.state_dict()) {
    saved[name] = {state.step, state.exp_avg.clone(), state.exp_avg_sq.clone()};
  }
  EXPECT_EQ(saved.at("classifier.weight").step, 2);  // it had no gradient at step 1
  EXPECT_EQ(saved.at("encoder.dense.bias").step, 3);

  std::vector<NamedParameter> resumed;
  for (const NamedParameter& parameter : first) {
    resumed.push_back({parameter.name, parameter.tensor.detach().clone().requires_grad_()});
  }
  AdamW resumed_optimizer(resumed, options);
  resumed_optimizer.load_state_dict(saved);
  run_steps(resumed_optimizer, resumed, options.lr, 3, 5);
  for (std::size_t k = 0; k < straight.size(); ++k) {
    EXPECT_TRUE(at::equal(resumed[k].tensor, straight[k].tensor)) << straight[k].name;
  }
}

TEST(AdamW, LoadingStateForAnotherModelIsAClearError) {
  std::vector<NamedParameter> parameters = make_parameters();
  AdamW optimizer(parameters);
  AdamWState unknown;
  unknown["decoder.weight"] = {1, at::zeros({2}), at::zeros({2})};
  EXPECT_THROW(optimizer.load_state_dict(unknown), dtrain::Error);
  AdamWState wrong_shape;
  wrong_shape["encoder.dense.bias"] = {1, at::zeros({5}), at::zeros({5})};
  EXPECT_THROW(optimizer.load_state_dict(wrong_shape), dtrain::Error);
}

TEST(AdamW, ZeroGradDropsGradients) {
  std::vector<NamedParameter> parameters = make_parameters();
  AdamW optimizer(parameters);
  set_gradients(parameters, 0);
  optimizer.zero_grad();
  for (const NamedParameter& parameter : parameters) EXPECT_FALSE(parameter.tensor.grad().defined());
}

TEST(AdamW, FusedCpuKernelMatchesTheTensorOperations) {
  // float32 contiguous CPU parameters take the one-pass kernel; a float64 copy takes the tensor
  // operations (the path every other device and dtype uses). Both must make the same updates.
  const AdamWOptions options{1e-2, 0.9, 0.999, 1e-8, 0.1};
  std::vector<NamedParameter> fused = make_parameters(), reference;
  for (const auto& parameter : fused) {
    reference.push_back({parameter.name, parameter.tensor.detach().to(at::kDouble).requires_grad_()});
  }
  AdamW fused_optimizer(fused, options), reference_optimizer(reference, options);
  for (int step = 0; step < 5; ++step) {
    set_gradients(fused, step);
    for (size_t k = 0; k < fused.size(); ++k) {
      const at::Tensor& grad = fused[k].tensor.grad();
      reference[k].tensor.mutable_grad() = grad.defined() ? grad.to(at::kDouble) : at::Tensor();
    }
    fused_optimizer.step();
    reference_optimizer.step();
  }
  for (size_t k = 0; k < fused.size(); ++k) {
    EXPECT_TRUE(at::allclose(fused[k].tensor.to(at::kDouble), reference[k].tensor, 1e-6, 1e-6))
        << fused[k].name;
    EXPECT_FALSE(at::equal(fused[k].tensor, make_parameters()[k].tensor)) << fused[k].name << " never moved";
  }
}

}  // namespace
}  // namespace dtrain::train
