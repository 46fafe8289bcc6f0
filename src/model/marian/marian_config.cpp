#include "model/marian/marian_config.h"

#include "common/error.h"
#include "model/activation.h"
#include "model/config_fields.h"

namespace dtrain::model {
namespace {

using nlohmann::json;

// eos_token_id and friends: an id, a list of ids, or null (transformers: no such token).
void read_token_ids(ConfigFieldReader& fields, const json& object, const char* field, json& value) {
  const bool has_value = fields.has(field);
  if (object.contains(field) && object.at(field).is_null()) value = nullptr;
  if (!has_value) return;
  const json& node = fields.at(field);
  bool ok = node.is_number_integer() && node.get<int64_t>() >= 0;
  if (node.is_array()) {
    ok = !node.empty();
    for (const json& item : node) ok = ok && item.is_number_integer() && item.get<int64_t>() >= 0;
  }
  fields.check_type(field, ok, "a token id, a list of token ids or null");
  value = node;
}

}  // namespace

MarianConfig MarianConfig::from_json(const json& object, const std::string& source) {
  ConfigFieldReader fields(object, source);
  MarianConfig config;
  fields.read("model_type", config.model_type);
  DTRAIN_CHECK(config.model_type == "marian", "{}: model_type '{}' is not a Marian model (expected 'marian')",
               source, config.model_type);
  fields.read_required("vocab_size", config.vocab_size);
  fields.read("decoder_vocab_size", config.decoder_vocab_size);
  fields.read_required("d_model", config.d_model);
  fields.read_required("encoder_layers", config.encoder_layers);
  fields.read_required("decoder_layers", config.decoder_layers);
  fields.read_required("encoder_attention_heads", config.encoder_attention_heads);
  fields.read_required("decoder_attention_heads", config.decoder_attention_heads);
  fields.read_required("encoder_ffn_dim", config.encoder_ffn_dim);
  fields.read_required("decoder_ffn_dim", config.decoder_ffn_dim);
  fields.read("max_position_embeddings", config.max_position_embeddings);
  fields.read("activation_function", config.activation_function);
  fields.read("dropout", config.dropout);
  fields.read("attention_dropout", config.attention_dropout);
  fields.read("activation_dropout", config.activation_dropout);
  fields.read("encoder_layerdrop", config.encoder_layerdrop);
  fields.read("decoder_layerdrop", config.decoder_layerdrop);
  fields.read("init_std", config.init_std);
  fields.read("scale_embedding", config.scale_embedding);
  fields.read("share_encoder_decoder_embeddings", config.share_encoder_decoder_embeddings);
  fields.read("tie_word_embeddings", config.tie_word_embeddings);
  fields.read("pad_token_id", config.pad_token_id);
  fields.read("decoder_start_token_id", config.decoder_start_token_id);
  read_token_ids(fields, object, "eos_token_id", config.eos_token_id);
  read_token_ids(fields, object, "bos_token_id", config.bos_token_id);
  read_token_ids(fields, object, "forced_eos_token_id", config.forced_eos_token_id);
  fields.read("architectures", config.architectures);
  fields.read("dtype", config.dtype);
  if (!config.dtype) {
    fields.read("torch_dtype", config.dtype);  // transformers 4's name, written back as "dtype"
  } else {
    fields.drop("torch_dtype");
  }
  // Derived or fixed in transformers' MarianConfig, rewritten by to_json.
  fields.drop("is_encoder_decoder");
  fields.drop("transformers_version");
  config.extra = fields.unconsumed();
  config.validate(source);
  return config;
}

json MarianConfig::to_json() const {
  json object = extra;
  object["model_type"] = model_type;
  object["vocab_size"] = vocab_size;
  object["decoder_vocab_size"] = decoder_vocab_size.value_or(vocab_size);
  object["d_model"] = d_model;
  object["encoder_layers"] = encoder_layers;
  object["decoder_layers"] = decoder_layers;
  object["encoder_attention_heads"] = encoder_attention_heads;
  object["decoder_attention_heads"] = decoder_attention_heads;
  object["encoder_ffn_dim"] = encoder_ffn_dim;
  object["decoder_ffn_dim"] = decoder_ffn_dim;
  object["max_position_embeddings"] = max_position_embeddings;
  object["activation_function"] = activation_function;
  object["dropout"] = dropout;
  object["attention_dropout"] = attention_dropout;
  object["activation_dropout"] = activation_dropout;
  object["encoder_layerdrop"] = encoder_layerdrop;
  object["decoder_layerdrop"] = decoder_layerdrop;
  object["init_std"] = init_std;
  object["scale_embedding"] = scale_embedding;
  object["share_encoder_decoder_embeddings"] = share_encoder_decoder_embeddings;
  object["tie_word_embeddings"] = tie_word_embeddings;
  object["pad_token_id"] = pad_token_id;
  object["decoder_start_token_id"] = decoder_start_token_id;
  object["eos_token_id"] = eos_token_id;
  object["bos_token_id"] = bos_token_id;
  object["forced_eos_token_id"] = forced_eos_token_id;
  object["is_encoder_decoder"] = true;
  if (!architectures.empty()) object["architectures"] = architectures;
  if (dtype) object["dtype"] = *dtype;
  return object;
}

void MarianConfig::validate(const std::string& source) const {
  const auto check_positive = [&](const char* field, int64_t value) {
    DTRAIN_CHECK(value > 0, "{}: field '{}' must be positive, got {}", source, field, value);
  };
  check_positive("vocab_size", vocab_size);
  if (decoder_vocab_size) check_positive("decoder_vocab_size", *decoder_vocab_size);
  check_positive("d_model", d_model);
  check_positive("encoder_layers", encoder_layers);
  check_positive("decoder_layers", decoder_layers);
  check_positive("encoder_attention_heads", encoder_attention_heads);
  check_positive("decoder_attention_heads", decoder_attention_heads);
  check_positive("encoder_ffn_dim", encoder_ffn_dim);
  check_positive("decoder_ffn_dim", decoder_ffn_dim);
  check_positive("max_position_embeddings", max_position_embeddings);
  for (const auto& [field, heads] : {std::pair{"encoder_attention_heads", encoder_attention_heads},
                                     std::pair{"decoder_attention_heads", decoder_attention_heads}}) {
    DTRAIN_CHECK(d_model % heads == 0, "{}: d_model ({}) is not a multiple of {} ({})", source, d_model,
                 field, heads);
  }
  DTRAIN_CHECK(parse_activation(activation_function).has_value(),
               "{}: field 'activation_function' is '{}'; supported: {}", source, activation_function,
               supported_activation_names());
  const auto check_probability = [&](const char* field, double value) {
    DTRAIN_CHECK(value >= 0.0 && value < 1.0, "{}: field '{}' must be in [0, 1), got {}", source, field,
                 value);
  };
  check_probability("dropout", dropout);
  check_probability("attention_dropout", attention_dropout);
  check_probability("activation_dropout", activation_dropout);
  check_probability("encoder_layerdrop", encoder_layerdrop);
  check_probability("decoder_layerdrop", decoder_layerdrop);
  DTRAIN_CHECK(init_std >= 0.0, "{}: field 'init_std' must be non-negative, got {}", source, init_std);
  DTRAIN_CHECK(
      !share_encoder_decoder_embeddings || decoder_vocab_size.value_or(vocab_size) == vocab_size,
      "{}: decoder_vocab_size ({}) differs from vocab_size ({}), but share_encoder_decoder_embeddings "
      "is true (one embedding serves both sides)",
      source, decoder_vocab_size.value_or(vocab_size), vocab_size);
  // The pad id is the embeddings' padding_idx, so it must exist on both sides.
  const int64_t smaller_vocab = std::min(vocab_size, target_vocab_size());
  DTRAIN_CHECK(pad_token_id >= 0 && pad_token_id < smaller_vocab,
               "{}: field 'pad_token_id' ({}) must be a token id below the vocabulary size ({})", source,
               pad_token_id, smaller_vocab);
  DTRAIN_CHECK(
      decoder_start_token_id >= 0 && decoder_start_token_id < target_vocab_size(),
      "{}: field 'decoder_start_token_id' ({}) must be a token id below the decoder's vocabulary size "
      "({})",
      source, decoder_start_token_id, target_vocab_size());
}

}  // namespace dtrain::model
