#include "model/activate.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"

namespace dtrain::model {

// Formulas as in transformers.activations (same constants).
at::Tensor activate(Activation activation, const at::Tensor& x) {
  switch (activation) {
    case Activation::kGelu:
      return at::gelu(x);
    case Activation::kGeluTanh:
      return at::gelu(x, "tanh");
    case Activation::kGeluFast:
      return 0.5 * x * (1.0 + at::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
    case Activation::kGeluClipped10:
      return at::clamp(at::gelu(x), -10.0, 10.0);
    case Activation::kQuickGelu:
      return x * at::sigmoid(1.702 * x);
    case Activation::kLaplace: {
      constexpr double kMu = 0.707107;
      constexpr double kSigma = 0.282095;
      return 0.5 * (1.0 + at::erf((x - kMu).div(kSigma * std::sqrt(2.0))));
    }
    case Activation::kRelu:
      return at::relu(x);
    case Activation::kRelu6:
      return at::hardtanh(x, 0.0, 6.0);
    case Activation::kReluSquared:
      return at::square(at::relu(x));
    case Activation::kLeakyRelu:
      return at::leaky_relu(x, 0.01);
    case Activation::kSilu:
      return at::silu(x);
    case Activation::kMish:
      return at::mish(x);
    case Activation::kSigmoid:
      return at::sigmoid(x);
    case Activation::kTanh:
      return at::tanh(x);
    case Activation::kLinear:
      return x;
  }
  DTRAIN_ASSERT(false, "unhandled activation {}", static_cast<int>(activation));
}

}  // namespace dtrain::model
