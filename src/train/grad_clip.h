#pragma once
// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_ (which the Trainer applies to
// the reduced gradients when max_grad_norm > 0; without clipping it still logs the norm).
#include <ATen/core/Tensor.h>

#include <vector>

namespace dtrain::train {

// Scales every defined .grad by min(1, max_norm / (norm + 1e-6)), where norm is the 2-norm of all
// gradients together, and returns that norm before clipping (0 when no parameter has a gradient).
double clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm);

// The 2-norm of all defined gradients together, changing nothing (0 when there are none).
double grad_norm(const std::vector<at::Tensor>& parameters);

}  // namespace dtrain::train
