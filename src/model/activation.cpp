#include "model/activation.h"

#include <array>
#include <utility>

namespace dtrain::model {
namespace {

// Same names as transformers.activations.ACT2CLS; several names share one function there too.
constexpr std::array<std::pair<std::string_view, Activation>, 19> kActivationNames{{
    {"gelu", Activation::kGelu},
    {"gelu_python", Activation::kGelu},
    {"gelu_new", Activation::kGeluTanh},
    {"gelu_pytorch_tanh", Activation::kGeluTanh},
    {"gelu_accurate", Activation::kGeluTanh},
    {"gelu_fast", Activation::kGeluFast},
    {"gelu_10", Activation::kGeluClipped10},
    {"quick_gelu", Activation::kQuickGelu},
    {"laplace", Activation::kLaplace},
    {"relu", Activation::kRelu},
    {"relu6", Activation::kRelu6},
    {"relu2", Activation::kReluSquared},
    {"leaky_relu", Activation::kLeakyRelu},
    {"silu", Activation::kSilu},
    {"swish", Activation::kSilu},
    {"mish", Activation::kMish},
    {"sigmoid", Activation::kSigmoid},
    {"tanh", Activation::kTanh},
    {"linear", Activation::kLinear},
}};

}  // namespace

std::optional<Activation> parse_activation(std::string_view name) {
  for (const auto& [known, activation] : kActivationNames) {
    if (known == name) return activation;
  }
  return std::nullopt;
}

std::string supported_activation_names() {
  std::string names;
  for (const auto& entry : kActivationNames) {
    if (!names.empty()) names += ", ";
    names += entry.first;
  }
  return names;
}

}  // namespace dtrain::model
