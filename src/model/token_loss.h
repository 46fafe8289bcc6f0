#pragma once
// Token-level cross-entropy for sequence-to-sequence training, as a sum plus a count so that the
// training loop can divide by the number of tokens of the whole global batch (over micro-batches and
// ranks) instead of averaging per micro-batch.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace dtrain::model {

// The label of a position without a target (padding), as Hugging Face's -100.
inline constexpr int64_t kIgnoreIndex = -100;

struct TokenLoss {
  at::Tensor sum;          // float scalar: summed over the counted tokens
  at::Tensor token_count;  // int64 scalar: tokens whose label is not -100
};

// logits [..., vocab] and labels [...] (int64, -100 = ignored). With label_smoothing eps > 0, each token
// contributes (1 - eps) * nll + eps * mean over the vocabulary of -log p, as Hugging Face Trainer's
// LabelSmoother (label_smoothing_factor), whose loss equals sum / token_count.
TokenLoss token_cross_entropy(const at::Tensor& logits, const at::Tensor& labels,
                              double label_smoothing = 0.0);

}  // namespace dtrain::model
