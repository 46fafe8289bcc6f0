// Incremental decoding for generate(): MarianMTModel's DecodingState.
#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "common/error.h"
#include "model/attention_bias.h"
#include "model/marian/marian_model.h"

namespace dtrain::model {
namespace {

// Positions a self-attention cache holds before it first grows (it doubles when full).
constexpr int64_t kInitialCacheCapacity = 32;

// Storage of one decoder layer's self-attention keys and values: two buffers of each, [capacity,
// max rows, d], one live and one spare that beam reordering gathers into, so that reordering copies
// the filled positions once and allocates nothing.
struct LayerStorage {
  at::Tensor keys[2];
  at::Tensor values[2];
  int live = 0;
};

class MarianDecodingState final : public DecodingState {
 public:
  MarianDecodingState(MarianMTModelImpl& model, std::vector<MarianLayerCache> caches, at::Tensor cross_bias,
                      int64_t rows, int64_t rows_per_input, int64_t max_length)
      : model_(model),
        decoder_(*model.base()->decoder),
        caches_(std::move(caches)),
        cross_bias_(std::move(cross_bias)),
        rows_(rows),
        rows_per_input_(rows_per_input),
        // The last token is never fed: its position needs no cache entry.
        max_positions_(std::max<int64_t>(max_length - 1, 1)),
        storage_(caches_.size()) {
    const at::Tensor& like = caches_.front().cross_keys;
    capacity_ = std::min(kInitialCacheCapacity, max_positions_);
    for (size_t layer = 0; layer < caches_.size(); ++layer) {
      for (at::Tensor* buffer : {&storage_[layer].keys[0], &storage_[layer].values[0]})
        *buffer = at::empty({capacity_, rows_, like.size(2)}, like.options());
      bind(layer);
    }
  }

  at::Tensor step(const at::Tensor& tokens) override {
    at::NoGradGuard no_grad;
    DTRAIN_ASSERT(tokens.dim() == 1 && tokens.size(0) == rows_, "step: expected {} tokens, got {}", rows_,
                  tokens.numel());
    ensure_capacity(length_ + 1);
    const at::Tensor embedded =
        at::embedding(decoder_.embed_tokens()->weight, tokens) * decoder_.embed_scale();
    at::Tensor hidden = embedded + decoder_.embed_positions()->forward(length_, 1);
    for (size_t layer = 0; layer < caches_.size(); ++layer)
      hidden = decoder_.layer(layer).step(hidden, caches_[layer], cross_bias_, rows_per_input_);
    ++length_;
    at::Tensor logits = at::linear(hidden, model_.output_embedding()) + model_.final_logits_bias();
    return logits.scalar_type() == at::kFloat ? logits : logits.to(at::kFloat);
  }

  void select(const at::Tensor& rows, const at::Tensor& inputs) override {
    at::NoGradGuard no_grad;
    const int64_t new_rows = rows.size(0);
    if (inputs.defined()) {
      const int64_t heads = cross_bias_.size(0) / (rows_ / rows_per_input_);
      const int64_t source_length = cross_bias_.size(2);
      cross_bias_ = cross_bias_.view({-1, heads, 1, source_length})
                        .index_select(0, inputs)
                        .view({-1, 1, source_length});
      for (MarianLayerCache& cache : caches_) {
        cache.cross_keys = cache.cross_keys.index_select(1, inputs);
        cache.cross_values = cache.cross_values.index_select(1, inputs);
      }
    }
    DTRAIN_ASSERT(new_rows % rows_per_input_ == 0, "select: {} rows is not a multiple of {} rows per input",
                  new_rows, rows_per_input_);
    for (size_t layer = 0; layer < caches_.size(); ++layer) {
      LayerStorage& storage = storage_[layer];
      const int spare = 1 - storage.live;
      for (at::Tensor* buffers : {storage.keys, storage.values}) {
        if (!buffers[spare].defined()) buffers[spare] = at::empty_like(buffers[storage.live]);
        if (length_ > 0) {
          at::Tensor destination = buffers[spare].narrow(0, 0, length_).narrow(1, 0, new_rows);
          at::index_select_out(destination, buffers[storage.live].narrow(0, 0, length_).narrow(1, 0, rows_),
                               1, rows);
        }
      }
      storage.live = spare;
    }
    rows_ = new_rows;
    for (size_t layer = 0; layer < caches_.size(); ++layer) bind(layer);
  }

  int64_t length() const override { return length_; }

 private:
  // Points the layer's cache at the live buffers' first rows_ rows.
  void bind(size_t layer) {
    const LayerStorage& storage = storage_[layer];
    caches_[layer].self_keys = storage.keys[storage.live].narrow(1, 0, rows_);
    caches_[layer].self_values = storage.values[storage.live].narrow(1, 0, rows_);
    caches_[layer].length = length_;
  }

  void ensure_capacity(int64_t positions) {
    DTRAIN_CHECK(positions <= decoder_.embed_positions()->num_positions(),
                 "generation reached position {}, beyond max_position_embeddings ({}) of the model; lower "
                 "max_length or max_new_tokens",
                 positions - 1, decoder_.embed_positions()->num_positions());
    if (positions <= capacity_) return;
    capacity_ = std::min(std::max(2 * capacity_, positions), std::max(max_positions_, positions));
    for (size_t layer = 0; layer < caches_.size(); ++layer) {
      LayerStorage& storage = storage_[layer];
      for (at::Tensor* buffers : {storage.keys, storage.values}) {
        const at::Tensor& live = buffers[storage.live];
        at::Tensor grown = at::empty({capacity_, live.size(1), live.size(2)}, live.options());
        grown.narrow(0, 0, length_).copy_(live.narrow(0, 0, length_));
        buffers[storage.live] = grown;
        buffers[1 - storage.live] = at::Tensor();  // reallocated at the next reorder, at the new size
      }
      bind(layer);
    }
  }

  MarianMTModelImpl& model_;
  MarianDecoderImpl& decoder_;
  std::vector<MarianLayerCache> caches_;
  at::Tensor cross_bias_;  // [inputs*heads, 1, src]
  int64_t rows_;
  int64_t rows_per_input_;
  int64_t max_positions_;
  int64_t capacity_ = 0;
  int64_t length_ = 0;
  std::vector<LayerStorage> storage_;
};

// Runs `body` with the module in eval mode, restoring its mode afterwards.
template <typename Body>
auto in_eval_mode(torch::nn::Module& module, Body body) {
  const bool was_training = module.is_training();
  module.eval();
  struct Restore {
    torch::nn::Module& module;
    bool training;
    ~Restore() { module.train(training); }
  } restore{module, was_training};
  return body();
}

}  // namespace

std::unique_ptr<DecodingState> MarianMTModelImpl::start_decoding(const at::Tensor& input_ids,
                                                                 const at::Tensor& attention_mask,
                                                                 int64_t rows_per_input, int64_t max_length) {
  at::NoGradGuard no_grad;
  DTRAIN_CHECK(input_ids.dim() == 2 && input_ids.size(0) > 0 && input_ids.size(1) > 0,
               "generation needs input_ids of shape [batch, seq] with at least one token, got [{}]",
               fmt::join(input_ids.sizes(), ", "));
  DTRAIN_CHECK(rows_per_input >= 1, "rows_per_input must be at least 1, got {}", rows_per_input);
  // Generation never applies dropout: the encoder runs in eval mode whatever the model's mode.
  const at::Tensor encoded = in_eval_mode(*this, [&] { return encode(input_ids, attention_mask); });
  const at::Tensor cross_bias = make_attention_bias(
      (attention_mask.defined() ? attention_mask : at::ones_like(input_ids)).to(input_ids.device()),
      config_.decoder_attention_heads, encoded.scalar_type());
  std::vector<MarianLayerCache> caches(model_->decoder->num_layers());
  for (size_t layer = 0; layer < caches.size(); ++layer) {
    auto [keys, values] = model_->decoder->layer(layer).cross_keys_values(encoded);
    caches[layer].cross_keys = keys;
    caches[layer].cross_values = values;
  }
  return std::make_unique<MarianDecodingState>(
      *this, std::move(caches), cross_bias, input_ids.size(0) * rows_per_input, rows_per_input, max_length);
}

}  // namespace dtrain::model
