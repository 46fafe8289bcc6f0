#pragma once
// BERT in LibTorch computing what transformers' BertModel / BertForSequenceClassification compute.
// Registered parameter names equal Hugging Face state_dict keys (bert.embeddings.word_embeddings.weight,
// bert.encoder.layer.0.attention.self.query.weight, ..., classifier.weight); no buffers are registered
// (HF's position_ids/token_type_ids buffers are recomputed), so named_parameters() is the whole state.
//
// Layout: the embeddings work sequence-first, [seq, batch, hidden]; the layers take the real tokens
// only, packed [tokens, hidden] (model/token_packing.h), so no dense layer computes padding, and attention
// unpacks its projections to [seq, batch, hidden], where splitting the hidden dimension into heads is a
// strided view ([seq, batch*heads, head] transposed to [batch*heads, seq, head]) that the batched GEMMs
// read directly. BertModel and BertForSequenceClassification take and return batch-first tensors like
// Hugging Face; the sequence output is zero at padding positions.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>

#include "model/activation.h"
#include "model/attention_bias.h"
#include "model/bert/bert_config.h"
#include "model/token_packing.h"

namespace dtrain::model {

// Word + token-type + absolute position embeddings, LayerNorm, dropout.
class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BertEmbeddingsImpl(const BertConfig& config);
  // input_ids, token_type_ids: int64 [batch, seq] -> [seq, batch, hidden].
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& token_type_ids);

 private:
  torch::nn::Embedding word_embeddings_{nullptr};
  torch::nn::Embedding position_embeddings_{nullptr};
  torch::nn::Embedding token_type_embeddings_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  double dropout_;
};
TORCH_MODULE(BertEmbeddings);

// Multi-head scaled dot-product attention over the padding mask (HF's "attention.self").
class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit BertSelfAttentionImpl(const BertConfig& config);
  // hidden: packed [tokens, hidden]; attention_bias: additive [batch*heads, 1, seq] from
  // make_attention_bias. Returns the per-head contexts concatenated, packed [tokens, hidden].
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& attention_bias, const TokenPacking& packing);

 private:
  torch::nn::Linear query_{nullptr};
  torch::nn::Linear key_{nullptr};
  torch::nn::Linear value_{nullptr};
  int64_t num_heads_;
  int64_t head_size_;
  double dropout_;
};
TORCH_MODULE(BertSelfAttention);

// dense -> dropout -> residual add -> LayerNorm: HF's BertSelfOutput ("attention.output") and BertOutput
// ("output") are this same computation with different input widths.
class BertResidualOutputImpl : public torch::nn::Module {
 public:
  BertResidualOutputImpl(const BertConfig& config, int64_t input_size);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& residual);

 private:
  torch::nn::Linear dense_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  double dropout_;
};
TORCH_MODULE(BertResidualOutput);

class BertAttentionImpl : public torch::nn::Module {
 public:
  explicit BertAttentionImpl(const BertConfig& config);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& attention_bias, const TokenPacking& packing);

 private:
  BertSelfAttention self_{nullptr};
  BertResidualOutput output_{nullptr};
};
TORCH_MODULE(BertAttention);

// dense to intermediate_size followed by the config's hidden_act.
class BertIntermediateImpl : public torch::nn::Module {
 public:
  explicit BertIntermediateImpl(const BertConfig& config);
  at::Tensor forward(const at::Tensor& hidden);

 private:
  torch::nn::Linear dense_{nullptr};
  Activation activation_;
};
TORCH_MODULE(BertIntermediate);

class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& config);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& attention_bias, const TokenPacking& packing);

 private:
  BertAttention attention_{nullptr};
  BertIntermediate intermediate_{nullptr};
  BertResidualOutput output_{nullptr};
};
TORCH_MODULE(BertLayer);

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertConfig& config);
  // hidden: packed [tokens, hidden] -> packed [tokens, hidden].
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& attention_bias, const TokenPacking& packing);

 private:
  torch::nn::ModuleList layers_{nullptr};
};
TORCH_MODULE(BertEncoder);

// tanh(dense(hidden of the first token)).
class BertPoolerImpl : public torch::nn::Module {
 public:
  explicit BertPoolerImpl(const BertConfig& config);
  // hidden: [seq, batch, hidden] -> [batch, hidden].
  at::Tensor forward(const at::Tensor& hidden);

 private:
  torch::nn::Linear dense_{nullptr};
};
TORCH_MODULE(BertPooler);

struct BertModelOutput {
  at::Tensor sequence_output;  // [batch, seq, hidden] (a transposed view of the encoder output)
  at::Tensor pooled_output;    // [batch, hidden]
};

class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const BertConfig& config);
  // int64 [batch, seq] each. An undefined attention_mask means "no padding", an undefined
  // token_type_ids means all zeros, as in Hugging Face.
  BertModelOutput forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                          const at::Tensor& token_type_ids);

 private:
  BertEmbeddings embeddings_{nullptr};
  BertEncoder encoder_{nullptr};
  BertPooler pooler_{nullptr};
  int64_t num_heads_;
};
TORCH_MODULE(BertModel);

struct SequenceClassifierOutput {
  at::Tensor logits;               // [batch, num_labels]
  std::optional<at::Tensor> loss;  // scalar, present when labels were given
};

class BertForSequenceClassificationImpl : public torch::nn::Module {
 public:
  // Builds the model and initializes it like HF's _init_weights from `seed` (see init_weights).
  explicit BertForSequenceClassificationImpl(const BertConfig& config, uint64_t seed = 0);

  // labels (optional): int64 [batch] class ids for single-label classification, float [batch] targets
  // for regression (num_labels == 1), float [batch, num_labels] 0/1 targets for multi-label. The loss
  // follows HF: config.problem_type when set, else regression when num_labels == 1, single-label when
  // labels are integers, multi-label otherwise.
  SequenceClassifierOutput forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                   const at::Tensor& token_type_ids, const at::Tensor& labels = {});

  // HF's _init_weights with a private generator: Linear/Embedding weights ~ N(0, initializer_range),
  // biases and the padding_idx embedding row zero, LayerNorm weight 1 / bias 0. Same seed, same
  // weights on every rank and device (weights are drawn on the CPU and copied).
  void init_weights(uint64_t seed);

  const BertConfig& config() const { return config_; }

 private:
  at::Tensor compute_loss(const at::Tensor& logits, const at::Tensor& labels) const;

  BertConfig config_;
  BertModel bert_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(BertForSequenceClassification);

}  // namespace dtrain::model
