#include "model/marian/marian_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "common/error.h"
#include "model/activate.h"
#include "model/attention_bias.h"
#include "model/dropout.h"
#include "model/hf_init.h"

namespace dtrain::model {
namespace {

Activation activation_of(const MarianConfig& config) {
  const std::optional<Activation> activation = parse_activation(config.activation_function);
  DTRAIN_CHECK(activation.has_value(), "activation_function '{}' is not supported; supported: {}",
               config.activation_function, supported_activation_names());
  return *activation;
}

// transformers' Marian layers use nn.LayerNorm's default eps.
torch::nn::LayerNorm make_layer_norm(const MarianConfig& config) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.d_model}).eps(1e-5));
}

torch::nn::Embedding make_token_embedding(int64_t vocab_size, const MarianConfig& config) {
  return torch::nn::Embedding(
      torch::nn::EmbeddingOptions(vocab_size, config.d_model).padding_idx(config.pad_token_id));
}

double embed_scale_of(const MarianConfig& config) {
  return config.scale_embedding ? std::sqrt(static_cast<double>(config.d_model)) : 1.0;
}

// The token embedding of a side: the shared one, or a registered one of its own.
torch::nn::Embedding own_or_shared(torch::nn::Module& side, torch::nn::Embedding shared, int64_t vocab_size,
                                   const MarianConfig& config) {
  if (shared) return shared;
  return side.register_module("embed_tokens", make_token_embedding(vocab_size, config));
}

// HF's LayerDrop: while training, a layer is skipped with probability `layerdrop`.
bool drop_layer(double layerdrop, bool training) {
  return training && layerdrop > 0.0 && at::rand({}).item<double>() < layerdrop;
}

// The source padding bias of `heads` heads, [batch*heads, 1, src].
at::Tensor padding_bias(const at::Tensor& input_ids, const at::Tensor& attention_mask, int64_t heads,
                        at::ScalarType dtype) {
  const at::Tensor mask = attention_mask.defined() ? attention_mask : at::ones_like(input_ids);
  return make_attention_bias(mask.to(input_ids.device()), heads, dtype);
}

}  // namespace

at::Tensor marian_sinusoidal_positions(int64_t num_positions, int64_t dim) {
  at::Tensor table = at::empty({num_positions, dim}, at::kFloat);
  auto rows = table.accessor<float, 2>();
  const int64_t sines = (dim + 1) / 2;  // columns [0, sines) hold sines, the rest cosines
  for (int64_t position = 0; position < num_positions; ++position) {
    for (int64_t i = 0; i < sines; ++i) {
      // transformers: pos / np.power(10000, 2 * (j // 2) / dim) for j = 2i (sin) and 2i + 1 (cos).
      const double angle = static_cast<double>(position) /
                           std::pow(10000.0, static_cast<double>(2 * i) / static_cast<double>(dim));
      rows[position][i] = static_cast<float>(std::sin(angle));
      if (sines + i < dim) rows[position][sines + i] = static_cast<float>(std::cos(angle));
    }
  }
  return table;
}

MarianPositionsImpl::MarianPositionsImpl(int64_t num_positions, int64_t dim) {
  weight_ = register_buffer("weight", marian_sinusoidal_positions(num_positions, dim));
}

at::Tensor MarianPositionsImpl::forward(int64_t start, int64_t length) const {
  DTRAIN_CHECK(start + length <= weight_.size(0),
               "sequence of {} tokens exceeds max_position_embeddings ({}) of the model", start + length,
               weight_.size(0));
  return weight_.narrow(0, start, length);
}

MarianAttentionImpl::MarianAttentionImpl(int64_t d_model, int64_t heads, double dropout_probability)
    : num_heads(heads),
      head_dim(d_model / heads),
      scaling(1.0 / std::sqrt(static_cast<double>(d_model / heads))),
      dropout(dropout_probability) {
  // Registration order as in transformers (k, v, q, out), so named_parameters() lists them alike.
  k_proj = register_module("k_proj", torch::nn::Linear(d_model, d_model));
  v_proj = register_module("v_proj", torch::nn::Linear(d_model, d_model));
  q_proj = register_module("q_proj", torch::nn::Linear(d_model, d_model));
  out_proj = register_module("out_proj", torch::nn::Linear(d_model, d_model));
}

at::Tensor MarianAttentionImpl::forward(const at::Tensor& query_input, const TokenPacking& query_packing,
                                        const at::Tensor& key_value_input,
                                        const TokenPacking& key_value_packing, const at::Tensor& bias) {
  const int64_t target_length = query_packing.seq_length();
  const int64_t batch_size = query_packing.batch_size();
  // Packed rows -> [seq, batch, heads*head] -> [batch*heads, seq, head]: a view the batched GEMMs read
  // directly.
  const auto split_heads = [&](const at::Tensor& projected, const TokenPacking& packing) {
    return packing.unpack(projected)
        .view({packing.seq_length(), batch_size * num_heads, head_dim})
        .transpose(0, 1);
  };
  const at::Tensor query = split_heads(q_proj->forward(query_input), query_packing);
  const at::Tensor key = split_heads(k_proj->forward(key_value_input), key_value_packing);
  const at::Tensor value = split_heads(v_proj->forward(key_value_input), key_value_packing);
  const at::Tensor scores = at::baddbmm(bias, query, key.transpose(1, 2), /*beta=*/1.0, /*alpha=*/scaling);
  const at::Tensor probs = model::dropout(at::softmax(scores, -1), dropout, is_training());
  const at::Tensor context =
      at::bmm(probs, value).transpose(0, 1).reshape({target_length, batch_size, num_heads * head_dim});
  return out_proj->forward(query_packing.pack(context));
}

MarianEncoderLayerImpl::MarianEncoderLayerImpl(const MarianConfig& config)
    : activation_(activation_of(config)),
      dropout_(config.dropout),
      activation_dropout_(config.activation_dropout) {
  self_attn_ = register_module(
      "self_attn", MarianAttention(config.d_model, config.encoder_attention_heads, config.attention_dropout));
  self_attn_layer_norm_ = register_module("self_attn_layer_norm", make_layer_norm(config));
  fc1_ = register_module("fc1", torch::nn::Linear(config.d_model, config.encoder_ffn_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(config.encoder_ffn_dim, config.d_model));
  final_layer_norm_ = register_module("final_layer_norm", make_layer_norm(config));
}

at::Tensor MarianEncoderLayerImpl::forward(const at::Tensor& hidden, const at::Tensor& bias,
                                           const TokenPacking& packing) {
  const bool training = is_training();
  at::Tensor state = self_attn_layer_norm_->forward(
      hidden +
      model::dropout(self_attn_->forward(hidden, packing, hidden, packing, bias), dropout_, training));
  at::Tensor expanded =
      model::dropout(activate(activation_, fc1_->forward(state)), activation_dropout_, training);
  state = final_layer_norm_->forward(state + model::dropout(fc2_->forward(expanded), dropout_, training));
  if (state.scalar_type() == at::kHalf && !at::isfinite(state).all().item<bool>()) {
    // As transformers: keep an fp16 overflow from turning into inf/nan downstream.
    const double clamp_value = 65504.0 - 1000.0;
    state = at::clamp(state, -clamp_value, clamp_value);
  }
  return state;
}

MarianDecoderLayerImpl::MarianDecoderLayerImpl(const MarianConfig& config)
    : activation_(activation_of(config)),
      dropout_(config.dropout),
      activation_dropout_(config.activation_dropout) {
  self_attn_ = register_module(
      "self_attn", MarianAttention(config.d_model, config.decoder_attention_heads, config.attention_dropout));
  self_attn_layer_norm_ = register_module("self_attn_layer_norm", make_layer_norm(config));
  encoder_attn_ = register_module(
      "encoder_attn",
      MarianAttention(config.d_model, config.decoder_attention_heads, config.attention_dropout));
  encoder_attn_layer_norm_ = register_module("encoder_attn_layer_norm", make_layer_norm(config));
  fc1_ = register_module("fc1", torch::nn::Linear(config.d_model, config.decoder_ffn_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(config.decoder_ffn_dim, config.d_model));
  final_layer_norm_ = register_module("final_layer_norm", make_layer_norm(config));
}

at::Tensor MarianDecoderLayerImpl::feed_forward(const at::Tensor& hidden, bool training) {
  const at::Tensor expanded =
      model::dropout(activate(activation_, fc1_->forward(hidden)), activation_dropout_, training);
  return final_layer_norm_->forward(hidden + model::dropout(fc2_->forward(expanded), dropout_, training));
}

at::Tensor MarianDecoderLayerImpl::forward(const at::Tensor& hidden, const TokenPacking& packing,
                                           const at::Tensor& self_bias, const at::Tensor& encoder_hidden,
                                           const at::Tensor& cross_bias) {
  const bool training = is_training();
  at::Tensor state = self_attn_layer_norm_->forward(
      hidden +
      model::dropout(self_attn_->forward(hidden, packing, hidden, packing, self_bias), dropout_, training));
  // The encoder output arrives padded (zeros at padding), its keys masked by cross_bias.
  const TokenPacking source(at::Tensor(), encoder_hidden.size(0), encoder_hidden.size(1));
  state = encoder_attn_layer_norm_->forward(
      state +
      model::dropout(encoder_attn_->forward(state, packing, source.pack(encoder_hidden), source, cross_bias),
                     dropout_, training));
  return feed_forward(state, training);
}

std::pair<at::Tensor, at::Tensor> MarianDecoderLayerImpl::cross_keys_values(
    const at::Tensor& encoder_hidden) {
  return {encoder_attn_->k_proj->forward(encoder_hidden), encoder_attn_->v_proj->forward(encoder_hidden)};
}

at::Tensor MarianDecoderLayerImpl::step(const at::Tensor& hidden, MarianLayerCache& cache,
                                        const at::Tensor& cross_bias, int64_t rows_per_input) {
  const int64_t rows = hidden.size(0);
  const int64_t d_model = hidden.size(1);

  // Self-attention: this position's key and value go straight into the cache, then the query attends to
  // positions [0, position] without a mask (every row has the same length, and only a past).
  const MarianAttentionImpl& self = *self_attn_;
  const int64_t position = cache.length;
  at::Tensor key_slot = cache.self_keys.select(0, position);
  at::Tensor value_slot = cache.self_values.select(0, position);
  at::addmm_out(key_slot, self.k_proj->bias, hidden, self.k_proj->weight.t());
  at::addmm_out(value_slot, self.v_proj->bias, hidden, self.v_proj->weight.t());
  cache.length = position + 1;
  // [position+1, rows, d] -> [rows*heads, position+1, head]
  const auto past = [&](const at::Tensor& stored) {
    return stored.narrow(0, 0, position + 1)
        .view({position + 1, rows * self.num_heads, self.head_dim})
        .transpose(0, 1);
  };
  const at::Tensor self_query = at::linear(hidden, self.q_proj->weight, self.q_proj->bias)
                                    .view({rows * self.num_heads, 1, self.head_dim});
  const at::Tensor self_scores =
      at::bmm(self_query, past(cache.self_keys).transpose(1, 2)).mul_(self.scaling);
  const at::Tensor self_context =
      at::bmm(at::softmax(self_scores, -1), past(cache.self_values)).view({rows, d_model});
  const at::Tensor attended = at::linear(self_context, self.out_proj->weight, self.out_proj->bias);
  at::Tensor state = self_attn_layer_norm_->forward(hidden + attended);

  // Cross-attention: the rows of one input share its keys and values, so the rows_per_input queries of
  // an input form one small GEMM against them instead of one GEMV per row against a copy.
  const MarianAttentionImpl& cross = *encoder_attn_;
  const int64_t inputs = rows / rows_per_input;
  const int64_t source_length = cache.cross_keys.size(0);
  const auto per_input_heads =
      [&](const at::Tensor& stored) {  // [src, inputs, d] -> [inputs*heads, src, head]
        return stored.view({source_length, inputs * cross.num_heads, cross.head_dim}).transpose(0, 1);
      };
  const at::Tensor cross_query = at::linear(state, cross.q_proj->weight, cross.q_proj->bias)
                                     .view({inputs, rows_per_input, cross.num_heads, cross.head_dim})
                                     .permute({0, 2, 1, 3})
                                     .reshape({inputs * cross.num_heads, rows_per_input, cross.head_dim});
  const at::Tensor cross_scores =
      at::baddbmm(cross_bias, cross_query, per_input_heads(cache.cross_keys).transpose(1, 2),
                  /*beta=*/1.0, /*alpha=*/cross.scaling);
  const at::Tensor cross_context = at::bmm(at::softmax(cross_scores, -1), per_input_heads(cache.cross_values))
                                       .view({inputs, cross.num_heads, rows_per_input, cross.head_dim})
                                       .permute({0, 2, 1, 3})
                                       .reshape({rows, d_model});
  state = encoder_attn_layer_norm_->forward(
      state + at::linear(cross_context, cross.out_proj->weight, cross.out_proj->bias));
  return feed_forward(state, /*training=*/false);
}

MarianEncoderImpl::MarianEncoderImpl(const MarianConfig& config, torch::nn::Embedding shared)
    : embed_scale_(embed_scale_of(config)), dropout_(config.dropout), layerdrop_(config.encoder_layerdrop) {
  embed_tokens_ = own_or_shared(*this, shared, config.vocab_size, config);
  embed_positions_ =
      register_module("embed_positions", MarianPositions(config.max_position_embeddings, config.d_model));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t index = 0; index < config.encoder_layers; ++index)
    layers_->push_back(MarianEncoderLayer(config));
}

at::Tensor MarianEncoderImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                      const at::Tensor& bias) {
  const int64_t source_length = input_ids.size(1);
  const at::Tensor embedded = embed_tokens_->forward(input_ids.t()) * embed_scale_;
  const TokenPacking packing(attention_mask, source_length, input_ids.size(0));
  at::Tensor state = packing.pack(model::dropout(
      embedded + embed_positions_->forward(0, source_length).unsqueeze(1), dropout_, is_training()));
  for (const auto& layer : *layers_) {
    if (drop_layer(layerdrop_, is_training())) continue;
    state = layer->as<MarianEncoderLayerImpl>()->forward(state, bias, packing);
  }
  return packing.unpack(state);
}

MarianDecoderImpl::MarianDecoderImpl(const MarianConfig& config, torch::nn::Embedding shared)
    : embed_scale_(embed_scale_of(config)), dropout_(config.dropout), layerdrop_(config.decoder_layerdrop) {
  embed_tokens_ = own_or_shared(*this, shared, config.target_vocab_size(), config);
  embed_positions_ =
      register_module("embed_positions", MarianPositions(config.max_position_embeddings, config.d_model));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t index = 0; index < config.decoder_layers; ++index)
    layers_->push_back(MarianDecoderLayer(config));
}

at::Tensor MarianDecoderImpl::forward(const at::Tensor& decoder_input_ids, const at::Tensor& encoder_hidden,
                                      const at::Tensor& cross_bias, const at::Tensor& decoder_mask) {
  const int64_t target_length = decoder_input_ids.size(1);
  const at::Tensor embedded = embed_tokens_->forward(decoder_input_ids.t()) * embed_scale_;
  // Causal attention: a position computed sees only earlier ones, all computed when the mask is a prefix.
  const TokenPacking packing(decoder_mask, target_length, decoder_input_ids.size(0));
  at::Tensor state = packing.pack(model::dropout(
      embedded + embed_positions_->forward(0, target_length).unsqueeze(1), dropout_, is_training()));
  const at::Tensor causal_bias = make_causal_bias(target_length, state.scalar_type(), state.device());
  for (const auto& layer : *layers_) {
    if (drop_layer(layerdrop_, is_training())) continue;
    state =
        layer->as<MarianDecoderLayerImpl>()->forward(state, packing, causal_bias, encoder_hidden, cross_bias);
  }
  return packing.unpack(state);
}

MarianModelImpl::MarianModelImpl(const MarianConfig& config) {
  if (config.share_encoder_decoder_embeddings)
    shared = register_module("shared", make_token_embedding(config.vocab_size, config));
  // transformers 5 ties the encoder's and decoder's embeddings to `shared` only along with
  // tie_word_embeddings; without it each side has an embedding of its own and `shared` goes unused.
  const torch::nn::Embedding sides = config.tie_word_embeddings ? shared : torch::nn::Embedding(nullptr);
  encoder = register_module("encoder", MarianEncoder(config, sides));
  decoder = register_module("decoder", MarianDecoder(config, sides));
}

MarianMTModelImpl::MarianMTModelImpl(const MarianConfig& config, uint64_t seed) : config_(config) {
  config_.validate();
  generation_config_ = GenerationConfig::from_model_config(config_.to_json());
  model_ = register_module("model", MarianModel(config_));
  if (!config_.tie_word_embeddings) {
    lm_head_ = register_module(
        "lm_head",
        torch::nn::Linear(torch::nn::LinearOptions(config_.d_model, target_vocab_size()).bias(false)));
  }
  final_logits_bias_ = register_buffer("final_logits_bias", at::zeros({1, target_vocab_size()}));
  init_weights(seed);
}

const at::Tensor& MarianMTModelImpl::output_embedding() const {
  return lm_head_ ? lm_head_->weight : model_->decoder->embed_tokens()->weight;
}

at::Tensor MarianMTModelImpl::source_bias(const at::Tensor& input_ids,
                                          const at::Tensor& attention_mask) const {
  DTRAIN_CHECK(input_ids.dim() == 2, "input_ids must be [batch, seq], got {} dimensions", input_ids.dim());
  DTRAIN_CHECK(!attention_mask.defined() || attention_mask.sizes() == input_ids.sizes(),
               "attention_mask must have the shape of input_ids [{}, {}]", input_ids.size(0),
               input_ids.size(1));
  return padding_bias(input_ids, attention_mask, config_.encoder_attention_heads,
                      final_logits_bias_.scalar_type());
}

at::Tensor MarianMTModelImpl::encode(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  return model_->encoder->forward(input_ids, attention_mask, source_bias(input_ids, attention_mask));
}

at::Tensor MarianMTModelImpl::decode(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                     const at::Tensor& decoder_input_ids, const at::Tensor& decoder_mask) {
  DTRAIN_CHECK(decoder_input_ids.dim() == 2 && decoder_input_ids.size(0) == input_ids.size(0),
               "decoder_input_ids must be [batch, tgt] with the batch of input_ids ({})", input_ids.size(0));
  const at::Tensor encoded = encode(input_ids, attention_mask);
  const at::Tensor cross_bias =
      padding_bias(input_ids, attention_mask, config_.decoder_attention_heads, encoded.scalar_type());
  return model_->decoder->forward(decoder_input_ids, encoded, cross_bias, decoder_mask);
}

at::Tensor MarianMTModelImpl::project(const at::Tensor& states) const {
  return at::linear(states, output_embedding()) + final_logits_bias_;
}

at::Tensor MarianMTModelImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                      const at::Tensor& decoder_input_ids) {
  // Batch-first before the vocabulary projection, so the large logits tensor comes out contiguous.
  return project(decode(input_ids, attention_mask, decoder_input_ids).transpose(0, 1).contiguous());
}

TokenLoss MarianMTModelImpl::token_loss(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                        const at::Tensor& decoder_input_ids, const at::Tensor& labels,
                                        double label_smoothing) {
  DTRAIN_CHECK(labels.sizes() == decoder_input_ids.sizes(),
               "labels must have the shape of decoder_input_ids");
  // The decoder computes each row up to its last label (collated labels end in -100 padding).
  const at::Tensor labelled_mask = labels.ne(kIgnoreIndex);
  const at::Tensor decoder_mask = labelled_mask.flip({1}).cumsum(1).flip({1}).gt(0);
  const at::Tensor states =
      decode(input_ids, attention_mask, decoder_input_ids, decoder_mask);  // [tgt, batch, d]
  // Sequence-first positions, like the states; the loss is a sum, so the order of the rows is free.
  const at::Tensor flat_labels = labels.t().reshape({-1});
  const at::Tensor labelled = flat_labels.ne(kIgnoreIndex).nonzero().squeeze(1);
  const at::Tensor rows = states.reshape({-1, states.size(-1)}).index_select(0, labelled);
  return token_cross_entropy(project(rows), flat_labels.index_select(0, labelled), label_smoothing);
}

void MarianMTModelImpl::init_weights(uint64_t seed) {
  init_weights_like_hf(*this, config_.init_std, seed);
  at::NoGradGuard no_grad;
  final_logits_bias_.zero_();
}

at::Tensor shift_tokens_right(const at::Tensor& labels, int64_t pad_token_id,
                              int64_t decoder_start_token_id) {
  DTRAIN_CHECK(labels.dim() == 2, "labels must be [batch, tgt], got {} dimensions", labels.dim());
  at::Tensor shifted = at::empty_like(labels);
  shifted.select(1, 0).fill_(decoder_start_token_id);
  shifted.narrow(1, 1, labels.size(1) - 1).copy_(labels.narrow(1, 0, labels.size(1) - 1));
  return shifted.masked_fill_(shifted == -100, pad_token_id);
}

}  // namespace dtrain::model
