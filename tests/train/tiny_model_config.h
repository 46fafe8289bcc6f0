#pragma once
// The model section of the end-to-end training tests: a 2-layer BERT over the synthetic task's
// 505-token vocabulary, small enough for millisecond steps. Dropout is off because its masks
// depend on how a batch is cut, which is exactly what these tests vary (a test turns it back on
// with --model.config.hidden_dropout_prob when it needs the RNG).
#include <string>

namespace dtrain::testing {

inline const std::string kTinyModelYaml = R"(
model:
  config: {vocab_size: 505, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
           intermediate_size: 64, max_position_embeddings: 64,
           hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0}
)";

}  // namespace dtrain::testing
