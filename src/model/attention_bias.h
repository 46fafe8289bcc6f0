#pragma once
// Additive attention biases as transformers builds them: 0 where attention is allowed and the
// dtype's lowest finite value (finfo(dtype).min) where it is not, so a masked position gets
// exactly zero weight after the softmax.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace dtrain::model {

// finfo(dtype).min for a floating dtype.
double lowest_value(at::ScalarType dtype);

// From a padding mask: (1 - mask) * finfo(dtype).min, one row per (sample, head).
// attention_mask: [batch, seq], 1 = attend, 0 = padding -> [batch*heads, 1, seq].
at::Tensor make_attention_bias(const at::Tensor& attention_mask, int64_t num_heads, at::ScalarType dtype);

// Causal (decoder) self-attention: position i sees positions <= i. [1, length, length] on `device`.
at::Tensor make_causal_bias(int64_t length, at::ScalarType dtype, at::Device device);

}  // namespace dtrain::model
