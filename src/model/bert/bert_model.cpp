#include "model/bert/bert_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "common/error.h"
#include "model/activate.h"
#include "model/dropout.h"
#include "model/hf_init.h"

namespace dtrain::model {
namespace {

Activation activation_of(const BertConfig& config) {
  const std::optional<Activation> activation = parse_activation(config.hidden_act);
  DTRAIN_CHECK(activation.has_value(), "hidden_act '{}' is not supported; supported: {}", config.hidden_act,
               supported_activation_names());
  return *activation;
}

torch::nn::LayerNorm make_layer_norm(const BertConfig& config) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

}  // namespace

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& config) : dropout_(config.hidden_dropout_prob) {
  word_embeddings_ =
      register_module("word_embeddings",
                      torch::nn::Embedding(torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size)
                                               .padding_idx(config.pad_token_id)));
  position_embeddings_ = register_module(
      "position_embeddings", torch::nn::Embedding(config.max_position_embeddings, config.hidden_size));
  token_type_embeddings_ = register_module("token_type_embeddings",
                                           torch::nn::Embedding(config.type_vocab_size, config.hidden_size));
  layer_norm_ = register_module("LayerNorm", make_layer_norm(config));
}

at::Tensor BertEmbeddingsImpl::forward(const at::Tensor& input_ids, const at::Tensor& token_type_ids) {
  const int64_t seq_length = input_ids.size(1);
  const int64_t max_positions = position_embeddings_->weight.size(0);
  DTRAIN_CHECK(seq_length <= max_positions, "sequence length {} exceeds max_position_embeddings {}",
               seq_length, max_positions);
  // HF's order of additions: (word + token type) + position.
  at::Tensor embeddings =
      word_embeddings_->forward(input_ids.t()) + token_type_embeddings_->forward(token_type_ids.t());
  embeddings.add_(position_embeddings_->weight.narrow(0, 0, seq_length).unsqueeze(1));
  return model::dropout(layer_norm_->forward(embeddings), dropout_, is_training());
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& config)
    : num_heads_(config.num_attention_heads),
      head_size_(config.attention_head_size()),
      dropout_(config.attention_probs_dropout_prob) {
  query_ = register_module("query", torch::nn::Linear(config.hidden_size, config.hidden_size));
  key_ = register_module("key", torch::nn::Linear(config.hidden_size, config.hidden_size));
  value_ = register_module("value", torch::nn::Linear(config.hidden_size, config.hidden_size));
}

at::Tensor BertSelfAttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& attention_bias,
                                          const TokenPacking& packing) {
  const int64_t seq_length = packing.seq_length();
  const int64_t batch_size = packing.batch_size();
  // Packed projection -> [seq, batch, heads*head] -> [batch*heads, seq, head]: a view whose row stride
  // the GEMMs accept.
  const auto split_heads = [&](const at::Tensor& projected) {
    return packing.unpack(projected).view({seq_length, batch_size * num_heads_, head_size_}).transpose(0, 1);
  };
  const at::Tensor query = split_heads(query_->forward(hidden));
  const at::Tensor key = split_heads(key_->forward(hidden));
  const at::Tensor value = split_heads(value_->forward(hidden));
  // bias + q k^T / sqrt(head) in one GEMM pass; the bias row broadcasts over query positions.
  const at::Tensor scores = at::baddbmm(attention_bias, query, key.transpose(1, 2), /*beta=*/1.0,
                                        /*alpha=*/1.0 / std::sqrt(static_cast<double>(head_size_)));
  const at::Tensor probs = model::dropout(at::softmax(scores, -1), dropout_, is_training());
  return packing.pack(
      at::bmm(probs, value).transpose(0, 1).reshape({seq_length, batch_size, num_heads_ * head_size_}));
}

BertResidualOutputImpl::BertResidualOutputImpl(const BertConfig& config, int64_t input_size)
    : dropout_(config.hidden_dropout_prob) {
  dense_ = register_module("dense", torch::nn::Linear(input_size, config.hidden_size));
  layer_norm_ = register_module("LayerNorm", make_layer_norm(config));
}

at::Tensor BertResidualOutputImpl::forward(const at::Tensor& hidden, const at::Tensor& residual) {
  return layer_norm_->forward(model::dropout(dense_->forward(hidden), dropout_, is_training()) + residual);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& config) {
  self_ = register_module("self", BertSelfAttention(config));
  output_ = register_module("output", BertResidualOutput(config, config.hidden_size));
}

at::Tensor BertAttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& attention_bias,
                                      const TokenPacking& packing) {
  return output_->forward(self_->forward(hidden, attention_bias, packing), hidden);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& config) : activation_(activation_of(config)) {
  dense_ = register_module("dense", torch::nn::Linear(config.hidden_size, config.intermediate_size));
}

at::Tensor BertIntermediateImpl::forward(const at::Tensor& hidden) {
  return activate(activation_, dense_->forward(hidden));
}

BertLayerImpl::BertLayerImpl(const BertConfig& config) {
  attention_ = register_module("attention", BertAttention(config));
  intermediate_ = register_module("intermediate", BertIntermediate(config));
  output_ = register_module("output", BertResidualOutput(config, config.intermediate_size));
}

at::Tensor BertLayerImpl::forward(const at::Tensor& hidden, const at::Tensor& attention_bias,
                                  const TokenPacking& packing) {
  const at::Tensor attended = attention_->forward(hidden, attention_bias, packing);
  return output_->forward(intermediate_->forward(attended), attended);
}

BertEncoderImpl::BertEncoderImpl(const BertConfig& config) {
  layers_ = register_module("layer", torch::nn::ModuleList());
  for (int64_t index = 0; index < config.num_hidden_layers; ++index) layers_->push_back(BertLayer(config));
}

at::Tensor BertEncoderImpl::forward(const at::Tensor& hidden, const at::Tensor& attention_bias,
                                    const TokenPacking& packing) {
  at::Tensor state = hidden;
  for (const auto& layer : *layers_)
    state = layer->as<BertLayerImpl>()->forward(state, attention_bias, packing);
  return state;
}

BertPoolerImpl::BertPoolerImpl(const BertConfig& config) {
  dense_ = register_module("dense", torch::nn::Linear(config.hidden_size, config.hidden_size));
}

at::Tensor BertPoolerImpl::forward(const at::Tensor& hidden) {
  return at::tanh(dense_->forward(hidden.select(0, 0)));
}

BertModelImpl::BertModelImpl(const BertConfig& config) : num_heads_(config.num_attention_heads) {
  embeddings_ = register_module("embeddings", BertEmbeddings(config));
  encoder_ = register_module("encoder", BertEncoder(config));
  pooler_ = register_module("pooler", BertPooler(config));
}

BertModelOutput BertModelImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                       const at::Tensor& token_type_ids) {
  DTRAIN_CHECK(input_ids.dim() == 2, "input_ids must be [batch, seq], got {} dimensions", input_ids.dim());
  const auto check_like_ids = [&](const at::Tensor& tensor, const char* name) {
    DTRAIN_CHECK(!tensor.defined() || tensor.sizes() == input_ids.sizes(),
                 "{} must have the shape of input_ids [{}, {}]", name, input_ids.size(0), input_ids.size(1));
  };
  check_like_ids(attention_mask, "attention_mask");
  check_like_ids(token_type_ids, "token_type_ids");
  const at::Tensor token_types = token_type_ids.defined() ? token_type_ids : at::zeros_like(input_ids);
  const at::Tensor mask = attention_mask.defined() ? attention_mask : at::ones_like(input_ids);

  const at::Tensor embedded = embeddings_->forward(input_ids, token_types);
  const TokenPacking packing(attention_mask, input_ids.size(1), input_ids.size(0));
  const at::Tensor encoded = packing.unpack(encoder_->forward(
      packing.pack(embedded), make_attention_bias(mask, num_heads_, embedded.scalar_type()), packing));
  return {encoded.transpose(0, 1), pooler_->forward(encoded)};
}

BertForSequenceClassificationImpl::BertForSequenceClassificationImpl(const BertConfig& config, uint64_t seed)
    : config_(config) {
  config_.validate();
  bert_ = register_module("bert", BertModel(config_));
  classifier_ = register_module("classifier", torch::nn::Linear(config_.hidden_size, config_.num_labels));
  init_weights(seed);
}

SequenceClassifierOutput BertForSequenceClassificationImpl::forward(const at::Tensor& input_ids,
                                                                    const at::Tensor& attention_mask,
                                                                    const at::Tensor& token_type_ids,
                                                                    const at::Tensor& labels) {
  const at::Tensor pooled = bert_->forward(input_ids, attention_mask, token_type_ids).pooled_output;
  SequenceClassifierOutput output;
  output.logits =
      classifier_->forward(model::dropout(pooled, config_.effective_classifier_dropout(), is_training()));
  if (labels.defined()) output.loss = compute_loss(output.logits, labels);
  return output;
}

at::Tensor BertForSequenceClassificationImpl::compute_loss(const at::Tensor& logits,
                                                           const at::Tensor& labels) const {
  const int64_t num_labels = config_.num_labels;
  const bool integer_labels = labels.scalar_type() == at::kLong || labels.scalar_type() == at::kInt;
  const ProblemType problem_type = config_.problem_type.value_or(
      num_labels == 1 ? ProblemType::kRegression
                      : (integer_labels ? ProblemType::kSingleLabelClassification
                                        : ProblemType::kMultiLabelClassification));
  switch (problem_type) {
    case ProblemType::kRegression:
      if (num_labels == 1) return at::mse_loss(logits.squeeze(), labels.squeeze().to(logits.scalar_type()));
      return at::mse_loss(logits, labels.to(logits.scalar_type()));
    case ProblemType::kSingleLabelClassification:
      DTRAIN_CHECK(integer_labels, "single_label_classification needs integer class labels, got {}",
                   c10::toString(labels.scalar_type()));
      return at::cross_entropy_loss(logits.view({-1, num_labels}), labels.reshape({-1}).to(at::kLong));
    case ProblemType::kMultiLabelClassification:
      return at::binary_cross_entropy_with_logits(logits, labels.to(logits.scalar_type()));
  }
  DTRAIN_ASSERT(false, "unhandled problem type {}", static_cast<int>(problem_type));
}

void BertForSequenceClassificationImpl::init_weights(uint64_t seed) {
  init_weights_like_hf(*this, config_.initializer_range, seed);
}

}  // namespace dtrain::model
