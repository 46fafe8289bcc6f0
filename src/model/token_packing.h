#pragma once
// Dense layers without the padding. A padded batch of sequence-first hidden states [seq, batch, hidden]
// packs into [tokens, hidden]: the rows of real tokens only. Every per-token product (projections,
// feed-forward, LayerNorm) runs on the packed rows, so the padding, often a quarter or more of a
// dynamically padded batch, costs no FLOPs there; attention, which mixes positions, unpacks them.
// The padding positions' outputs are zero, where a padded model computes values nobody reads.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace dtrain::model {

class TokenPacking {
 public:
  // attention_mask [batch, seq]: 1 = token, 0 = padding (undefined: no padding).
  TokenPacking(const at::Tensor& attention_mask, int64_t seq_length, int64_t batch_size);

  // [seq, batch, ...] -> [tokens, ...]; a view when the batch has no padding.
  at::Tensor pack(const at::Tensor& padded) const;
  // [tokens, ...] -> [seq, batch, ...] with zeros at the padding; a view when the batch has no padding.
  at::Tensor unpack(const at::Tensor& packed) const;

  int64_t seq_length() const { return seq_length_; }
  int64_t batch_size() const { return batch_size_; }

 private:
  at::Tensor positions_;  // int64 [tokens]: indices into the flattened [seq, batch]; undefined: no padding
  int64_t seq_length_;
  int64_t batch_size_;
};

}  // namespace dtrain::model
