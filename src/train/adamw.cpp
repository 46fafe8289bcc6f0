#include "train/adamw.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
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

namespace {

// The per-step constants of one parameter's update.
struct AdamWStepScalars {
  double decay_factor;  // 1 - lr * weight_decay
  double beta1, beta2;
  double step_size;  // lr / bias_correction1
  double bias_correction2_sqrt;
  double eps;
};

// torch.optim.adamw._single_tensor_adamw's operations, in its order: any device and dtype.
void tensor_adamw_step(at::Tensor& param, const at::Tensor& grad, AdamWParameterState& state,
                       const AdamWStepScalars& s) {
  param.mul_(s.decay_factor);
  state.exp_avg.mul_(s.beta1).add_(grad, 1.0 - s.beta1);
  state.exp_avg_sq.mul_(s.beta2).addcmul_(grad, grad, 1.0 - s.beta2);
  const at::Tensor denom = (state.exp_avg_sq.sqrt() / s.bias_correction2_sqrt).add_(s.eps);
  param.addcdiv_(state.exp_avg, denom, -s.step_size);
}

bool fused_kernel_applies(const at::Tensor& param, const at::Tensor& grad, const AdamWParameterState& state) {
  auto cpu_float_contiguous = [](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous();
  };
  return cpu_float_contiguous(param) && cpu_float_contiguous(grad) && cpu_float_contiguous(state.exp_avg) &&
         cpu_float_contiguous(state.exp_avg_sq);
}

// The constants of fused_adamw_range in fp32, the precision of the update.
struct AdamWKernelScalars {
  float decay, beta1, beta2, one_minus_beta1, one_minus_beta2, correction2, eps, neg_step;
};

// One pass over [begin, end), compiled for AVX-512, AVX2 and the baseline, chosen at load time by
// the CPU (GCC function multi-versioning): the update is bound by memory traffic only once it runs
// at full vector width. The vector paths may contract a multiply and an add into one rounding, as
// torch's own CPU kernels do, so the last bit can depend on the processor.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void fused_adamw_range(float* p, const float* g, float* m, float* v, std::int64_t begin, std::int64_t end,
                       const AdamWKernelScalars& k) {
  for (std::int64_t i = begin; i < end; ++i) {
    m[i] = m[i] * k.beta1 + g[i] * k.one_minus_beta1;
    v[i] = v[i] * k.beta2 + k.one_minus_beta2 * g[i] * g[i];
    const float denom = std::sqrt(v[i]) / k.correction2 + k.eps;
    p[i] = p[i] * k.decay + k.neg_step * (m[i] / denom);
  }
}

// The same arithmetic in one pass over memory instead of eight tensor operations: on the CPU the
// update is bound by memory traffic, and a word embedding's update is most of a small model's step.
void fused_adamw_step(at::Tensor& param, const at::Tensor& grad, AdamWParameterState& state,
                      const AdamWStepScalars& s) {
  float* p = param.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* m = state.exp_avg.data_ptr<float>();
  float* v = state.exp_avg_sq.data_ptr<float>();
  const AdamWKernelScalars k{static_cast<float>(s.decay_factor), static_cast<float>(s.beta1),
                             static_cast<float>(s.beta2),        static_cast<float>(1.0 - s.beta1),
                             static_cast<float>(1.0 - s.beta2),  static_cast<float>(s.bias_correction2_sqrt),
                             static_cast<float>(s.eps),          static_cast<float>(-s.step_size)};
  at::parallel_for(0, param.numel(), 1 << 15,
                   [&](int64_t begin, int64_t end) { fused_adamw_range(p, g, m, v, begin, end, k); });
}

}  // namespace

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
    ++state.step;
    const double step = static_cast<double>(state.step);
    const AdamWStepScalars scalars{1.0 - lr * entry.weight_decay,
                                   options_.beta1,
                                   options_.beta2,
                                   lr / (1.0 - std::pow(options_.beta1, step)),
                                   std::sqrt(1.0 - std::pow(options_.beta2, step)),
                                   options_.eps};
    if (fused_kernel_applies(param, grad, state)) {
      fused_adamw_step(param, grad, state, scalars);
    } else {
      tensor_adamw_step(param, grad, state, scalars);
    }
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
