#pragma once
// The hidden activations a Hugging Face config may name (transformers' ACT2FN table), kept torch-free
// so that config validation can reject an unknown name without pulling in LibTorch.
#include <optional>
#include <string>
#include <string_view>

namespace dtrain::model {

enum class Activation {
  kGelu,           // "gelu", "gelu_python": exact erf form
  kGeluTanh,       // "gelu_new", "gelu_pytorch_tanh", "gelu_accurate": tanh approximation
  kGeluFast,       // "gelu_fast": tanh approximation with HF's rounded constant
  kGeluClipped10,  // "gelu_10": exact gelu clipped to [-10, 10]
  kQuickGelu,      // "quick_gelu": x * sigmoid(1.702 x)
  kLaplace,        // "laplace"
  kRelu,           // "relu"
  kRelu6,          // "relu6"
  kReluSquared,    // "relu2"
  kLeakyRelu,      // "leaky_relu": slope 0.01 like nn.LeakyReLU
  kSilu,           // "silu", "swish"
  kMish,           // "mish"
  kSigmoid,        // "sigmoid"
  kTanh,           // "tanh"
  kLinear,         // "linear": identity
};

// Maps a config's hidden_act name to the activation; nullopt when transformers has no such name.
std::optional<Activation> parse_activation(std::string_view name);

// The accepted names, comma-separated, for error messages.
std::string supported_activation_names();

}  // namespace dtrain::model
