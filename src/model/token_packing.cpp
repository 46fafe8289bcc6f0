#include "model/token_packing.h"

#include <ATen/ATen.h>

#include <vector>

#include "common/error.h"

namespace dtrain::model {
TokenPacking::TokenPacking(const at::Tensor& attention_mask, int64_t seq_length, int64_t batch_size)
    : seq_length_(seq_length), batch_size_(batch_size) {
  if (!attention_mask.defined()) return;
  DTRAIN_CHECK(attention_mask.dim() == 2 && attention_mask.size(0) == batch_size &&
                   attention_mask.size(1) == seq_length,
               "attention_mask must be [batch {}, seq {}]", batch_size, seq_length);
  const at::Tensor positions = attention_mask.t().reshape({-1}).ne(0).nonzero().squeeze(1);
  if (positions.size(0) < seq_length * batch_size) positions_ = positions;
}

at::Tensor TokenPacking::pack(const at::Tensor& padded) const {
  DTRAIN_ASSERT(padded.size(0) == seq_length_ && padded.size(1) == batch_size_,
                "pack: expected [seq {}, batch {}, ...]", seq_length_, batch_size_);
  const at::Tensor rows = padded.flatten(0, 1);
  return positions_.defined() ? rows.index_select(0, positions_) : rows;
}

at::Tensor TokenPacking::unpack(const at::Tensor& packed) const {
  const at::IntArrayRef rest = packed.sizes().slice(1);
  DTRAIN_ASSERT(packed.size(0) == (positions_.defined() ? positions_.size(0) : seq_length_ * batch_size_),
                "unpack: {} rows for this batch's tokens", packed.size(0));
  std::vector<int64_t> padded_sizes{seq_length_, batch_size_};
  padded_sizes.insert(padded_sizes.end(), rest.begin(), rest.end());
  if (!positions_.defined()) return packed.view(padded_sizes);
  return at::zeros(padded_sizes, packed.options())
      .flatten(0, 1)
      .index_copy(0, positions_, packed)
      .view(padded_sizes);
}

}  // namespace dtrain::model
