#pragma once
// MarianMT in LibTorch, computing what transformers' MarianMTModel computes: a post-norm transformer
// encoder-decoder with static sinusoidal positions in Marian's layout (all sines, then all cosines),
// token embeddings scaled by sqrt(d_model) when scale_embedding, and the language-model head tied to
// the token embedding plus a `final_logits_bias` buffer.
//
// Names are Hugging Face state_dict keys: model.shared.weight (one embedding for encoder, decoder and
// lm_head when share_encoder_decoder_embeddings and tie_word_embeddings), model.encoder.layers.0.
// self_attn.q_proj.weight, ..., model.decoder.layers.0.encoder_attn.k_proj.bias, final_logits_bias.
// The position tables are buffers named model.{encoder,decoder}.embed_positions.weight, computed from
// the config and never loaded or saved (transformers does not save them either).
//
// Layout: inside the model activations are [seq, batch, d_model], so per-head views of the projections
// feed the batched GEMMs without copies (as in model/bert); inputs and logits are batch-first.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>

#include "model/activation.h"
#include "model/generation/generation_config.h"
#include "model/generation/seq2seq_lm.h"
#include "model/marian/marian_config.h"
#include "model/token_loss.h"
#include "model/token_packing.h"

namespace dtrain::model {

// Marian's position table: row p holds sin(p / 10000^(2i/dim)) in its first ceil(dim/2) columns and
// cos(p / 10000^(2i/dim)) in the rest, computed in double and rounded once, as transformers does.
at::Tensor marian_sinusoidal_positions(int64_t num_positions, int64_t dim);

// The table as a buffer named "weight" (HF's MarianSinusoidalPositionalEmbedding).
class MarianPositionsImpl : public torch::nn::Module {
 public:
  MarianPositionsImpl(int64_t num_positions, int64_t dim);
  // Rows [start, start + length): [length, dim].
  at::Tensor forward(int64_t start, int64_t length) const;
  int64_t num_positions() const { return weight_.size(0); }

 private:
  at::Tensor weight_;
};
TORCH_MODULE(MarianPositions);

// Multi-head attention with q/k/v/out projections (HF's MarianAttention).
class MarianAttentionImpl : public torch::nn::Module {
 public:
  MarianAttentionImpl(int64_t d_model, int64_t num_heads, double dropout);
  // query_input: the packed rows of [tgt, batch, d] (query_packing); key_value_input: those of
  // [src, batch, d] (the query input and packing for self-attention); bias: additive, broadcastable to
  // [batch*heads, tgt, src]. Returns the query's packed rows. Projections run on packed rows only.
  at::Tensor forward(const at::Tensor& query_input, const TokenPacking& query_packing,
                     const at::Tensor& key_value_input, const TokenPacking& key_value_packing,
                     const at::Tensor& bias);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  int64_t num_heads;
  int64_t head_dim;
  double scaling;  // head_dim^-0.5
  double dropout;
};
TORCH_MODULE(MarianAttention);

class MarianEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit MarianEncoderLayerImpl(const MarianConfig& config);
  // hidden: the packed rows of [seq, batch, d]; bias [batch*heads, 1, seq] from the padding mask.
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& bias, const TokenPacking& packing);

 private:
  MarianAttention self_attn_{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::LayerNorm final_layer_norm_{nullptr};
  Activation activation_;
  double dropout_;
  double activation_dropout_;
};
TORCH_MODULE(MarianEncoderLayer);

// A decoder layer's keys and values during incremental decoding (sequence-first, so one position of
// all rows is one contiguous [rows, d] block).
struct MarianLayerCache {
  at::Tensor self_keys, self_values;    // [capacity, rows, d]; positions [0, length) are filled
  at::Tensor cross_keys, cross_values;  // [src, inputs, d]
  int64_t length = 0;
};

class MarianDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit MarianDecoderLayerImpl(const MarianConfig& config);
  // hidden: the packed rows of [tgt, batch, d]; self_bias causal [1, tgt, tgt]; encoder_hidden
  // [src, batch, d]; cross_bias [batch*heads, 1, src]. Returns packed rows.
  at::Tensor forward(const at::Tensor& hidden, const TokenPacking& packing, const at::Tensor& self_bias,
                     const at::Tensor& encoder_hidden, const at::Tensor& cross_bias);
  // Cross-attention keys and values of an encoder output, [src, inputs, d] each.
  std::pair<at::Tensor, at::Tensor> cross_keys_values(const at::Tensor& encoder_hidden);
  // One decoding step, without dropout: hidden [rows, d] at position cache.length -> [rows, d];
  // appends this position's self-attention key and value to `cache`. `cross_bias` is
  // [inputs*heads, 1, src] for rows grouped rows_per_input per input.
  at::Tensor step(const at::Tensor& hidden, MarianLayerCache& cache, const at::Tensor& cross_bias,
                  int64_t rows_per_input);

 private:
  at::Tensor feed_forward(const at::Tensor& hidden, bool training);

  MarianAttention self_attn_{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm_{nullptr};
  MarianAttention encoder_attn_{nullptr};
  torch::nn::LayerNorm encoder_attn_layer_norm_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::LayerNorm final_layer_norm_{nullptr};
  Activation activation_;
  double dropout_;
  double activation_dropout_;
};
TORCH_MODULE(MarianDecoderLayer);

class MarianEncoderImpl : public torch::nn::Module {
 public:
  // `shared` is the token embedding when the config shares it (it is then registered by the owner).
  MarianEncoderImpl(const MarianConfig& config, torch::nn::Embedding shared);
  // input_ids, attention_mask [batch, seq] (undefined mask: no padding); bias [batch*heads, 1, seq].
  // Returns [seq, batch, d], zero at padding positions (the layers skip them).
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, const at::Tensor& bias);

 private:
  torch::nn::Embedding embed_tokens_{nullptr};
  MarianPositions embed_positions_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  double embed_scale_;
  double dropout_;
  double layerdrop_;
};
TORCH_MODULE(MarianEncoder);

class MarianDecoderImpl : public torch::nn::Module {
 public:
  MarianDecoderImpl(const MarianConfig& config, torch::nn::Embedding shared);
  // decoder_input_ids [batch, tgt]; encoder_hidden [src, batch, d]; cross_bias [batch*heads, 1, src];
  // decoder_mask [batch, tgt]: 1 for the positions to compute, a prefix of each row (undefined: all).
  // Returns [tgt, batch, d], zero at the positions not computed.
  at::Tensor forward(const at::Tensor& decoder_input_ids, const at::Tensor& encoder_hidden,
                     const at::Tensor& cross_bias, const at::Tensor& decoder_mask = {});

  const torch::nn::Embedding& embed_tokens() const { return embed_tokens_; }
  const MarianPositions& embed_positions() const { return embed_positions_; }
  double embed_scale() const { return embed_scale_; }
  MarianDecoderLayerImpl& layer(size_t index) { return *layers_[index]->as<MarianDecoderLayerImpl>(); }
  size_t num_layers() const { return layers_->size(); }

 private:
  torch::nn::Embedding embed_tokens_{nullptr};
  MarianPositions embed_positions_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  double embed_scale_;
  double dropout_;
  double layerdrop_;
};
TORCH_MODULE(MarianDecoder);

// HF's MarianModel: the shared embedding, encoder and decoder (registered as "model").
class MarianModelImpl : public torch::nn::Module {
 public:
  explicit MarianModelImpl(const MarianConfig& config);

  MarianEncoder encoder{nullptr};
  MarianDecoder decoder{nullptr};
  torch::nn::Embedding shared{nullptr};  // null unless share_encoder_decoder_embeddings
};
TORCH_MODULE(MarianModel);

// HF's MarianMTModel: MarianModel ("model"), the language-model head and final_logits_bias.
class MarianMTModelImpl : public torch::nn::Module, public Seq2SeqLM {
 public:
  // Builds the model and initializes it like HF's _init_weights from `seed` (see init_weights). The
  // generation config defaults to the config's generation fields, as in transformers.
  explicit MarianMTModelImpl(const MarianConfig& config, uint64_t seed = 0);

  // input_ids, attention_mask [batch, src] (mask 1 = token, 0 = padding; undefined = no padding);
  // decoder_input_ids [batch, tgt] (labels shifted right, see shift_tokens_right). Returns the logits,
  // [batch, tgt, target vocab], contiguous.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     const at::Tensor& decoder_input_ids);
  // The teacher-forced token loss (token_cross_entropy) against labels [batch, tgt] (-100: no target),
  // without the logits of the unlabelled (padding) positions: only labelled positions reach the
  // vocabulary projection, the largest product of a small model, and the log-softmax over the vocabulary.
  TokenLoss token_loss(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                       const at::Tensor& decoder_input_ids, const at::Tensor& labels, double label_smoothing);
  // The encoder alone: [src, batch, d] (sequence-first).
  at::Tensor encode(const at::Tensor& input_ids, const at::Tensor& attention_mask);

  // HF's _init_weights with a private generator: Linear/Embedding weights ~ N(0, init_std), biases and
  // the padding_idx embedding rows zero, LayerNorm 1/0, final_logits_bias zero. Same seed, same
  // weights on every rank and device.
  void init_weights(uint64_t seed);

  const MarianConfig& config() const { return config_; }
  const GenerationConfig& generation_config() const { return generation_config_; }
  void set_generation_config(GenerationConfig generation_config) {
    generation_config_ = std::move(generation_config);
  }

  // The lm_head weight [target vocab, d] (the tied embedding unless tie_word_embeddings is false).
  const at::Tensor& output_embedding() const;
  const at::Tensor& final_logits_bias() const { return final_logits_bias_; }
  MarianModel& base() { return model_; }

  // Seq2SeqLM
  std::unique_ptr<DecodingState> start_decoding(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                                int64_t rows_per_input, int64_t max_length) override;
  int64_t target_vocab_size() const override { return config_.target_vocab_size(); }
  int64_t max_target_positions() const override { return config_.max_position_embeddings; }

 private:
  at::Tensor source_bias(const at::Tensor& input_ids, const at::Tensor& attention_mask) const;
  // The decoder's output, [tgt, batch, d] (sequence-first), at the positions of decoder_mask (see
  // MarianDecoder::forward; undefined: all).
  at::Tensor decode(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                    const at::Tensor& decoder_input_ids, const at::Tensor& decoder_mask = {});
  // Logits [..., target vocab] of decoder states [..., d].
  at::Tensor project(const at::Tensor& states) const;

  MarianConfig config_;
  GenerationConfig generation_config_;
  MarianModel model_{nullptr};
  torch::nn::Linear lm_head_{nullptr};  // null when tied
  at::Tensor final_logits_bias_;        // [1, target vocab]
};
TORCH_MODULE(MarianMTModel);

// HF's shift_tokens_right: decoder inputs from labels, [start, labels[:-1]] with -100 replaced by pad.
at::Tensor shift_tokens_right(const at::Tensor& labels, int64_t pad_token_id, int64_t decoder_start_token_id);

}  // namespace dtrain::model
