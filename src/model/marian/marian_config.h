#pragma once
// A Hugging Face Marian config.json (model_type "marian") as a struct. Torch-free.
//
// from_json applies transformers' MarianConfig defaults to absent fields, except the shape fields
// (vocab_size, d_model, encoder/decoder_layers, encoder/decoder_attention_heads, encoder/decoder_ffn_dim),
// which are required: MarianConfig's defaults are those of a 12+12-layer model, so a forgotten field
// would only fail later with a confusing shape mismatch. Fields dtrain does not interpret (legacy
// entries of old opus-mt configs, generation settings such as max_length or num_beams) are kept
// verbatim in `extra` and written back, so a load/save round trip loses nothing.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dtrain::model {

struct MarianConfig {
  // Shapes (required in a config.json; the values here are transformers' defaults).
  int64_t vocab_size = 58101;
  std::optional<int64_t> decoder_vocab_size;  // null: vocab_size
  int64_t d_model = 1024;
  int64_t encoder_layers = 12;
  int64_t decoder_layers = 12;
  int64_t encoder_attention_heads = 16;
  int64_t decoder_attention_heads = 16;
  int64_t encoder_ffn_dim = 4096;
  int64_t decoder_ffn_dim = 4096;
  int64_t max_position_embeddings = 1024;  // rows of the sinusoidal position tables

  std::string activation_function = "gelu";  // opus-mt models use "swish"
  double dropout = 0.1;
  double attention_dropout = 0.0;
  double activation_dropout = 0.0;
  double encoder_layerdrop = 0.0;
  double decoder_layerdrop = 0.0;
  double init_std = 0.02;
  bool scale_embedding = false;                  // token embeddings times sqrt(d_model)
  bool share_encoder_decoder_embeddings = true;  // one "model.shared" embedding for both sides
  bool tie_word_embeddings = true;               // lm_head uses the decoder's token embedding

  int64_t pad_token_id = 58100;
  int64_t decoder_start_token_id = 58100;
  // Token ids generation reads from a model config, kept as written (an id, a list or null).
  nlohmann::json eos_token_id = 0;
  nlohmann::json bos_token_id = nullptr;
  nlohmann::json forced_eos_token_id = 0;

  std::vector<std::string> architectures;  // e.g. {"MarianMTModel"}
  std::string model_type = "marian";
  std::optional<std::string> dtype;                 // "float32"; older files call it torch_dtype
  nlohmann::json extra = nlohmann::json::object();  // unknown fields, verbatim

  // Parses and validates; errors read "<source>: field 'x' ...". Throws dtrain::Error.
  static MarianConfig from_json(const nlohmann::json& json, const std::string& source = "config.json");
  // Every field, as transformers' save_pretrained writes them.
  nlohmann::json to_json() const;

  // Cross-field rules (heads divide d_model, ids inside the vocabulary, known activation, ranges).
  void validate(const std::string& source = "config.json") const;

  // Size of the decoder's vocabulary: the logits' last dimension.
  int64_t target_vocab_size() const {
    return share_encoder_decoder_embeddings ? vocab_size : decoder_vocab_size.value_or(vocab_size);
  }
};

}  // namespace dtrain::model
