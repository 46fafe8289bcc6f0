#pragma once
// The activations of model/activation.h applied to tensors, with transformers' formulas and constants.
#include <ATen/core/Tensor.h>

#include "model/activation.h"

namespace dtrain::model {

at::Tensor activate(Activation activation, const at::Tensor& x);

}  // namespace dtrain::model
