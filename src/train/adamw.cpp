#include "train/adamw.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/error.h"

namespace dtrain::train {

bool uses_weight_decay(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("bias") == std::string::npos && lower.find("layernorm") == std::string::npos &&
         lower.find("layer_norm") == std::string::npos;
}

AdamW::AdamW(std::vector<NamedParameter> parameters, AdamWOptions options) : options_(options) {
  DTRAIN_CHECK(options.lr >= 0 && options.eps >= 0 && options.weight_decay >= 0,
               "AdamW: learning_rate, adam_epsilon and weight_decay must not be negative");
  DTRAIN_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
               "AdamW: adam_beta1 and adam_beta2 must be in [0, 1), got {} and {}", options.beta1,
               options.beta2);
  for (NamedParameter& parameter : parameters) {
    const double weight_decay = uses_weight_decay(parameter.name) ? options.weight_decay : 0.0;
    entries_.push_back(Entry{std::move(parameter), weight_decay, {}});
  }
}

void AdamW::step() {
  at::NoGradGuard no_grad;
  const double lr = options_.lr;
  for (Entry& entry : entries_) {
    at::Tensor& param = entry.parameter.tensor;
    const at::Tensor& grad = param.grad();
    if (!grad.defined()) continue;
    AdamWParameterState& state = entry.state;
    if (!state.exp_avg.defined()) {
      state.exp_avg = at::zeros_like(param, at::MemoryFormat::Preserve);
      state.exp_avg_sq = at::zeros_like(param, at::MemoryFormat::Preserve);
    }
    // The order and form of these operations follow torch.optim.adamw._single_tensor_adamw.
    ++state.step;
    param.mul_(1.0 - lr * entry.weight_decay);
    state.exp_avg.mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
    state.exp_avg_sq.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    const double step = static_cast<double>(state.step);
    const double bias_correction1 = 1.0 - std::pow(options_.beta1, step);
    const double bias_correction2 = 1.0 - std::pow(options_.beta2, step);
    const at::Tensor denom = (state.exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(options_.eps);
    param.addcdiv_(state.exp_avg, denom, -lr / bias_correction1);
  }
}

void AdamW::zero_grad() {
  for (Entry& entry : entries_) entry.parameter.tensor.mutable_grad() = at::Tensor();
}

AdamWState AdamW::state_dict() const {
  AdamWState state;
  for (const Entry& entry : entries_) {
    if (entry.state.step > 0) state.emplace(entry.parameter.name, entry.state);
  }
  return state;
}

void AdamW::load_state_dict(const AdamWState& state) {
  std::map<std::string, Entry*> by_name;
  for (Entry& entry : entries_) by_name[entry.parameter.name] = &entry;
  for (const auto& [name, saved] : state) {
    auto found = by_name.find(name);
    DTRAIN_CHECK(found != by_name.end(),
                 "optimizer state names parameter '{}', which the model does not have", name);
    const at::Tensor& param = found->second->parameter.tensor;
    DTRAIN_CHECK(saved.step > 0 && saved.exp_avg.defined() && saved.exp_avg_sq.defined() &&
                     saved.exp_avg.sizes() == param.sizes() && saved.exp_avg_sq.sizes() == param.sizes(),
                 "optimizer state for '{}' does not match the parameter (shape {}, step {})", name,
                 fmt::join(param.sizes(), "x"), saved.step);
    AdamWParameterState& target = found->second->state;
    target.step = saved.step;
    target.exp_avg = saved.exp_avg.to(param.options(), /*non_blocking=*/false, /*copy=*/true);
    target.exp_avg_sq = saved.exp_avg_sq.to(param.options(), /*non_blocking=*/false, /*copy=*/true);
  }
}

}  // namespace dtrain::train
