#include "model/bert/bert_flops.h"

#include <algorithm>

#include "common/error.h"

namespace dtrain::model {
namespace {

// Forward FLOPs of `sequences` sequences holding `tokens` tokens whose squared lengths sum to
// `squared_lengths`.
double forward_flops(const BertConfig& config, double sequences, double tokens, double squared_lengths) {
  const auto h = static_cast<double>(config.hidden_size);
  const auto intermediate = static_cast<double>(config.intermediate_size);
  const auto layers = static_cast<double>(config.num_hidden_layers);
  const auto labels = static_cast<double>(config.num_labels);
  const double per_token = layers * (8 * h * h + 4 * h * intermediate);
  const double attention = layers * 4 * h * squared_lengths;
  const double heads = sequences * (2 * h * h + 2 * h * labels);
  return per_token * tokens + attention + heads;
}

}  // namespace

TrainingFlops training_flops(const BertConfig& config, const std::vector<int64_t>& lengths,
                             int64_t padded_length) {
  double tokens = 0, squared = 0;
  for (const int64_t length : lengths) {
    DTRAIN_ASSERT(length >= 0 && length <= padded_length, "sample length {} outside [0, {}]", length,
                  padded_length);
    tokens += static_cast<double>(length);
    squared += static_cast<double>(length) * static_cast<double>(length);
  }
  const auto sequences = static_cast<double>(lengths.size());
  const auto padded = static_cast<double>(padded_length);
  // Backward computes two products (input and weight gradients) per forward product.
  return {3 * forward_flops(config, sequences, tokens, squared),
          3 * forward_flops(config, sequences, sequences * padded, sequences * padded * padded)};
}

TrainingFlops training_flops(const BertConfig& config, const data::Batch& batch) {
  std::vector<int64_t> lengths(static_cast<size_t>(batch.batch_size), 0);
  for (int64_t row = 0; row < batch.batch_size; ++row) {
    const auto* mask = batch.attention_mask.data() + row * batch.seq_len;
    lengths[static_cast<size_t>(row)] = std::count(mask, mask + batch.seq_len, int64_t{1});
  }
  return training_flops(config, lengths, batch.seq_len);
}

}  // namespace dtrain::model
