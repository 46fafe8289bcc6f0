#include "model/token_loss.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace dtrain::model {

TokenLoss token_cross_entropy(const at::Tensor& logits, const at::Tensor& labels, double label_smoothing) {
  DTRAIN_CHECK(logits.dim() == labels.dim() + 1 && logits.sizes().slice(0, labels.dim()) == labels.sizes(),
               "token_cross_entropy: logits must be labels' shape plus a vocabulary dimension");
  DTRAIN_CHECK(label_smoothing >= 0.0 && label_smoothing < 1.0, "label_smoothing must be in [0, 1), got {}",
               label_smoothing);
  const int64_t vocab_size = logits.size(-1);
  const at::Tensor flat_logits = logits.reshape({-1, vocab_size});
  const at::Tensor flat_labels = labels.reshape({-1});
  const at::Tensor counted = flat_labels.ne(kIgnoreIndex);
  TokenLoss loss;
  loss.token_count = counted.sum();
  if (label_smoothing == 0.0) {
    loss.sum =
        at::cross_entropy_loss(flat_logits, flat_labels, /*weight=*/{}, at::Reduction::Sum, kIgnoreIndex);
    return loss;
  }
  // LabelSmoother: -log_softmax in fp32; ignored tokens contribute zero to both terms.
  const at::Tensor negative_log_probs = -at::log_softmax(flat_logits.to(at::kFloat), -1);
  const at::Tensor nll = negative_log_probs.gather(1, flat_labels.clamp_min(0).unsqueeze(1))
                             .squeeze(1)
                             .masked_fill(~counted, 0.0);
  const at::Tensor smoothed = negative_log_probs.sum(-1).masked_fill(~counted, 0.0);
  loss.sum = (1.0 - label_smoothing) * nll.sum() +
             (label_smoothing / static_cast<double>(vocab_size)) * smoothed.sum();
  return loss;
}

}  // namespace dtrain::model
