#pragma once
// A small tanh MLP on plain tensors for gradient tests: parameters in registration order
// (w0, b0, w1, b1, ...), deterministic from a seed, and a loss whose gradients reach every one.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace dtrain::testing {

class TinyMlp {
 public:
  TinyMlp(const std::vector<std::int64_t>& widths, std::uint64_t seed) {
    at::manual_seed(seed);
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
      parameters_.push_back((at::randn({widths[i + 1], widths[i]}) * 0.5).requires_grad_());
      parameters_.push_back((at::randn({widths[i + 1]}) * 0.1).requires_grad_());
    }
  }

  // A copy with the same values and no gradients.
  TinyMlp clone() const {
    TinyMlp copy;
    for (const at::Tensor& p : parameters_) copy.parameters_.push_back(p.detach().clone().requires_grad_());
    return copy;
  }

  const std::vector<at::Tensor>& parameters() const { return parameters_; }
  std::int64_t input_width() const { return parameters_.front().size(1); }

  at::Tensor loss(const at::Tensor& input) const {
    at::Tensor hidden = input;
    for (std::size_t i = 0; i < parameters_.size(); i += 2) {
      hidden = at::linear(hidden, parameters_[i], parameters_[i + 1]);
      if (i + 2 < parameters_.size()) hidden = at::tanh(hidden);
    }
    return hidden.pow(2).mean();
  }

  // A reproducible batch for (seed, rank, micro-batch).
  at::Tensor batch(std::uint64_t seed, std::int64_t rows = 8) const {
    at::manual_seed(seed);
    return at::randn({rows, input_width()});
  }

 private:
  TinyMlp() = default;
  std::vector<at::Tensor> parameters_;
};

}  // namespace dtrain::testing
