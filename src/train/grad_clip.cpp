#include "train/grad_clip.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <utility>

namespace dtrain::train {
namespace {

// The defined gradients and their global 2-norm (undefined when there are none).
std::pair<std::vector<at::Tensor>, at::Tensor> gradients_and_norm(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> grads;
  std::vector<at::Tensor> norms;
  for (const at::Tensor& parameter : parameters) {
    const at::Tensor& grad = parameter.grad();
    if (!grad.defined()) continue;
    grads.push_back(grad);
    norms.push_back(grad.norm(2));
  }
  if (grads.empty()) return {};
  return {std::move(grads), at::stack(norms).norm(2)};
}

}  // namespace

double grad_norm(const std::vector<at::Tensor>& parameters) {
  at::NoGradGuard no_grad;
  const at::Tensor total_norm = gradients_and_norm(parameters).second;
  return total_norm.defined() ? total_norm.item<double>() : 0.0;
}

double clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  at::NoGradGuard no_grad;
  auto [grads, total_norm] = gradients_and_norm(parameters);
  if (grads.empty()) return 0.0;
  // torch's factor, computed as torch does (a tensor op, so with torch's rounding). The caller needs
  // the norm on the host anyway, so reading the factor costs no extra sync; and when it is 1 (no
  // clipping, most steps) the multiplication, a full pass over every gradient, changes nothing.
  const at::Tensor factor = (max_norm / (total_norm + 1e-6)).clamp_max(1.0);
  if (factor.item<double>() < 1.0) {
    for (at::Tensor& grad : grads) grad.mul_(factor);
  }
  return total_norm.item<double>();
}

}  // namespace dtrain::train
