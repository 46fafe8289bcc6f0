#include "model/attention_bias.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <limits>

namespace dtrain::model {

double lowest_value(at::ScalarType dtype) {
  double lowest = 0.0;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, dtype, "lowest_value", [&] {
    lowest = static_cast<double>(std::numeric_limits<scalar_t>::lowest());
  });
  return lowest;
}

at::Tensor make_attention_bias(const at::Tensor& attention_mask, int64_t num_heads, at::ScalarType dtype) {
  const int64_t batch_size = attention_mask.size(0);
  const int64_t seq_length = attention_mask.size(1);
  const at::Tensor bias = (1.0 - attention_mask.to(dtype)) * lowest_value(dtype);
  return bias.view({batch_size, 1, 1, seq_length})
      .expand({batch_size, num_heads, 1, seq_length})
      .reshape({batch_size * num_heads, 1, seq_length});
}

at::Tensor make_causal_bias(int64_t length, at::ScalarType dtype, at::Device device) {
  return at::full({1, length, length}, lowest_value(dtype), at::TensorOptions().dtype(dtype).device(device))
      .triu_(1);
}

}  // namespace dtrain::model
