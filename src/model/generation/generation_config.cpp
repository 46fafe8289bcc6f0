#include "model/generation/generation_config.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "common/atomic_file.h"
#include "common/error.h"
#include "model/config_fields.h"

namespace dtrain::model {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int64_t kDefaultMaxNewTokens = 20;  // transformers' global default max_length (20) + the prompt

void read_token_ids(ConfigFieldReader& fields, const char* field, std::optional<TokenIdList>& value) {
  if (!fields.has(field)) return;
  const json& node = fields.at(field);
  TokenIdList list;
  if (node.is_number_integer()) {
    list.ids.push_back(node.get<int64_t>());
  } else {
    fields.check_type(field, node.is_array() && !node.empty(), "a token id or a non-empty list of token ids");
    list.written_as_list = true;
    for (const json& item : node) {
      fields.check_type(field, item.is_number_integer(), "a token id or a non-empty list of token ids");
      list.ids.push_back(item.get<int64_t>());
    }
  }
  for (int64_t id : list.ids)
    DTRAIN_CHECK(id >= 0, "{}: field '{}' holds the negative token id {}", fields.source(), field, id);
  value = std::move(list);
}

void read_bad_words(ConfigFieldReader& fields, std::optional<std::vector<std::vector<int64_t>>>& value) {
  const char* field = "bad_words_ids";
  if (!fields.has(field)) return;
  const json& node = fields.at(field);
  const char* expected = "a non-empty list of non-empty lists of token ids, e.g. [[59513]]";
  fields.check_type(field, node.is_array() && !node.empty(), expected);
  std::vector<std::vector<int64_t>> sequences;
  for (const json& sequence : node) {
    fields.check_type(field, sequence.is_array() && !sequence.empty(), expected);
    std::vector<int64_t> ids;
    for (const json& id : sequence) {
      fields.check_type(field, id.is_number_integer() && id.get<int64_t>() >= 0, expected);
      ids.push_back(id.get<int64_t>());
    }
    sequences.push_back(std::move(ids));
  }
  value = std::move(sequences);
}

void read_early_stopping(ConfigFieldReader& fields, std::optional<EarlyStopping>& value) {
  const char* field = "early_stopping";
  if (!fields.has(field)) return;
  const json& node = fields.at(field);
  if (node.is_boolean()) {
    value = node.get<bool>() ? EarlyStopping::kWhenFull : EarlyStopping::kHeuristic;
    return;
  }
  fields.check_type(field, node.is_string() && node.get<std::string>() == "never",
                    "true, false or \"never\"");
  value = EarlyStopping::kNever;
}

// Reads every field GenerationConfig interprets out of `fields`.
GenerationConfig read_known_fields(ConfigFieldReader& fields) {
  GenerationConfig config;
  fields.read("max_length", config.max_length);
  fields.read("max_new_tokens", config.max_new_tokens);
  fields.read("min_length", config.min_length);
  fields.read("min_new_tokens", config.min_new_tokens);
  fields.read("num_beams", config.num_beams);
  fields.read("num_return_sequences", config.num_return_sequences);
  fields.read("length_penalty", config.length_penalty);
  read_early_stopping(fields, config.early_stopping);
  fields.read("do_sample", config.do_sample);
  fields.read("use_cache", config.use_cache);
  fields.read("no_repeat_ngram_size", config.no_repeat_ngram_size);
  read_bad_words(fields, config.bad_words_ids);
  fields.read("forced_bos_token_id", config.forced_bos_token_id);
  read_token_ids(fields, "forced_eos_token_id", config.forced_eos_token_id);
  fields.read("renormalize_logits", config.renormalize_logits);
  fields.read("decoder_start_token_id", config.decoder_start_token_id);
  fields.read("bos_token_id", config.bos_token_id);
  fields.read("pad_token_id", config.pad_token_id);
  read_token_ids(fields, "eos_token_id", config.eos_token_id);
  return config;
}

json token_ids_json(const TokenIdList& list) {
  if (!list.written_as_list && list.ids.size() == 1) return list.ids.front();
  return list.ids;
}

// Settings transformers applies in greedy or beam search that dtrain does not implement, with the
// test for "set to something that changes the output".
struct UnsupportedSetting {
  const char* name;
  bool (*changes_output)(const json& value);
};

bool is_set(const json& value) {
  return !value.is_null();
}
bool is_true(const json& value) {
  return value.is_boolean() && value.get<bool>();
}
bool is_non_empty(const json& value) {
  return !value.is_null() && !value.empty();
}
bool differs_from_one(const json& value) {
  return value.is_number() && value.get<double>() != 1.0;
}
bool above_zero(const json& value) {
  return value.is_number() && value.get<double>() > 0.0;
}
bool above_one(const json& value) {
  return value.is_number() && value.get<double>() > 1.0;
}

constexpr UnsupportedSetting kUnsupportedSettings[] = {
    {"repetition_penalty", differs_from_one},
    {"encoder_repetition_penalty", differs_from_one},
    {"encoder_no_repeat_ngram_size", above_zero},
    {"sequence_bias", is_set},
    {"suppress_tokens", is_non_empty},
    {"begin_suppress_tokens", is_non_empty},
    {"exponential_decay_length_penalty", is_set},
    {"remove_invalid_values", is_true},
    {"num_beam_groups", above_one},
    {"penalty_alpha", above_zero},
    {"guidance_scale", differs_from_one},
    {"max_time", is_set},
    {"stop_strings", is_set},
    {"constraints", is_set},
    {"force_words_ids", is_set},
    {"low_memory", is_true},
    {"watermarking_config", is_set},
    {"prompt_lookup_num_tokens", is_set},
    {"assistant_early_exit", is_set},
    {"use_mtp", is_true},
    {"token_healing", is_true},
};

}  // namespace

GenerationConfig GenerationConfig::from_json(const json& object, const std::string& source) {
  ConfigFieldReader fields(object, source);
  GenerationConfig config = read_known_fields(fields);
  // transformers' own bookkeeping, rewritten on every save.
  fields.drop("transformers_version");
  fields.drop("_from_model_config");
  config.extra = fields.unconsumed();
  return config;
}

GenerationConfig GenerationConfig::from_model_config(const json& model_config, const std::string& source) {
  ConfigFieldReader fields(model_config, source);
  GenerationConfig config = read_known_fields(fields);
  // Only the settings below change generation; config.json's other fields are the model's own.
  for (const UnsupportedSetting& setting : kUnsupportedSettings) {
    if (model_config.contains(setting.name) && !model_config.at(setting.name).is_null())
      config.extra[setting.name] = model_config.at(setting.name);
  }
  return config;
}

json GenerationConfig::to_json() const {
  json object = extra;
  const auto put = [&](const char* field, const auto& value) {
    if (value) object[field] = *value;
  };
  put("max_length", max_length);
  put("max_new_tokens", max_new_tokens);
  put("min_length", min_length);
  put("min_new_tokens", min_new_tokens);
  put("num_beams", num_beams);
  put("num_return_sequences", num_return_sequences);
  put("length_penalty", length_penalty);
  if (early_stopping) {
    object["early_stopping"] = *early_stopping == EarlyStopping::kNever
                                   ? json("never")
                                   : json(*early_stopping == EarlyStopping::kWhenFull);
  }
  put("do_sample", do_sample);
  put("use_cache", use_cache);
  put("no_repeat_ngram_size", no_repeat_ngram_size);
  put("bad_words_ids", bad_words_ids);
  put("forced_bos_token_id", forced_bos_token_id);
  if (forced_eos_token_id) object["forced_eos_token_id"] = token_ids_json(*forced_eos_token_id);
  put("renormalize_logits", renormalize_logits);
  put("decoder_start_token_id", decoder_start_token_id);
  put("bos_token_id", bos_token_id);
  put("pad_token_id", pad_token_id);
  if (eos_token_id) object["eos_token_id"] = token_ids_json(*eos_token_id);
  return object;
}

GenerationConfig GenerationConfig::read(const fs::path& folder) {
  const fs::path generation_file = folder / "generation_config.json";
  if (fs::exists(generation_file))
    return from_json(read_json_file(generation_file.string()), generation_file.string());
  const fs::path config_file = folder / "config.json";
  return from_model_config(read_json_file(config_file.string()), config_file.string());
}

void GenerationConfig::write(const fs::path& folder) const {
  write_text_atomically(folder / "generation_config.json", to_json().dump(2) + "\n");
}

std::vector<std::string> GenerationConfig::unsupported_settings() const {
  std::vector<std::string> names;
  if (do_sample.value_or(false)) names.push_back("do_sample");
  for (const UnsupportedSetting& setting : kUnsupportedSettings) {
    const auto found = extra.find(setting.name);
    if (found != extra.end() && setting.changes_output(*found)) names.push_back(setting.name);
  }
  return names;
}

ResolvedGeneration resolve_generation(const GenerationConfig& config, int64_t vocab_size,
                                      int64_t max_position_embeddings) {
  const std::vector<std::string> unsupported = config.unsupported_settings();
  DTRAIN_CHECK(unsupported.empty(),
               "generation: {} set, which dtrain does not implement (it runs greedy and beam search with "
               "max/min length, length_penalty, early_stopping, no_repeat_ngram_size, bad_words_ids, "
               "forced_bos/eos_token_id and renormalize_logits)",
               fmt::join(unsupported, ", "));
  const auto check_token = [&](const char* field, int64_t id) {
    DTRAIN_CHECK(id >= 0 && id < vocab_size,
                 "generation: {} {} is not a token id of the model (vocab_size {})", field, id, vocab_size);
  };

  ResolvedGeneration resolved;
  constexpr int64_t kPromptLength = 1;  // the decoder starts from decoder_start_token_id alone
  if (config.max_new_tokens) {
    DTRAIN_CHECK(*config.max_new_tokens > 0, "generation: max_new_tokens must be greater than 0, got {}",
                 *config.max_new_tokens);
    resolved.max_length = *config.max_new_tokens + kPromptLength;
  } else if (config.max_length) {
    resolved.max_length = *config.max_length;
  } else {
    resolved.max_length = std::min(kDefaultMaxNewTokens + kPromptLength, max_position_embeddings);
  }
  DTRAIN_CHECK(
      resolved.max_length > kPromptLength,
      "generation: max_length is {}, but the decoder already starts with 1 token; set max_length above 1 "
      "or max_new_tokens",
      resolved.max_length);
  if (config.min_new_tokens) {
    DTRAIN_CHECK(*config.min_new_tokens >= 0, "generation: min_new_tokens must be non-negative, got {}",
                 *config.min_new_tokens);
    resolved.min_length = *config.min_new_tokens + kPromptLength;
  } else {
    resolved.min_length = config.min_length.value_or(0);
    DTRAIN_CHECK(resolved.min_length >= 0, "generation: min_length must be non-negative, got {}",
                 resolved.min_length);
  }

  resolved.num_beams = config.num_beams.value_or(1);
  DTRAIN_CHECK(resolved.num_beams >= 1, "generation: num_beams must be at least 1, got {}",
               resolved.num_beams);
  resolved.num_return_sequences = config.num_return_sequences.value_or(1);
  DTRAIN_CHECK(resolved.num_return_sequences >= 1,
               "generation: num_return_sequences must be at least 1, got {}", resolved.num_return_sequences);
  DTRAIN_CHECK(resolved.num_beams > 1 || resolved.num_return_sequences == 1,
               "generation: greedy search (num_beams 1) returns one sequence per input, but "
               "num_return_sequences is {}",
               resolved.num_return_sequences);
  DTRAIN_CHECK(resolved.num_return_sequences <= resolved.num_beams,
               "generation: num_return_sequences ({}) has to be smaller or equal to num_beams ({})",
               resolved.num_return_sequences, resolved.num_beams);
  resolved.length_penalty = config.length_penalty.value_or(1.0);
  resolved.early_stopping = config.early_stopping.value_or(EarlyStopping::kHeuristic);
  resolved.no_repeat_ngram_size = config.no_repeat_ngram_size.value_or(0);
  resolved.renormalize_logits = config.renormalize_logits.value_or(false);

  if (config.eos_token_id) resolved.eos_token_ids = config.eos_token_id->ids;
  for (int64_t id : resolved.eos_token_ids) check_token("eos_token_id", id);
  resolved.pad_token_id = config.pad_token_id;
  if (!resolved.pad_token_id && !resolved.eos_token_ids.empty())
    resolved.pad_token_id = resolved.eos_token_ids.front();
  if (resolved.eos_token_ids.empty()) {
    resolved.beam_fill_token_id = -1;
  } else {
    resolved.beam_fill_token_id = resolved.pad_token_id && *resolved.pad_token_id != 0
                                      ? *resolved.pad_token_id
                                      : resolved.eos_token_ids[0];
  }
  const std::optional<int64_t> start =
      config.decoder_start_token_id ? config.decoder_start_token_id : config.bos_token_id;
  DTRAIN_CHECK(start.has_value(),
               "generation: neither decoder_start_token_id nor bos_token_id is set; an encoder-decoder model "
               "needs one to start decoding");
  check_token("decoder_start_token_id", *start);
  resolved.decoder_start_token_id = *start;

  if (config.bad_words_ids) {
    // As transformers: a bad word that is a single eos id is dropped (eos must stay reachable).
    for (const std::vector<int64_t>& sequence : *config.bad_words_ids) {
      const bool is_eos =
          sequence.size() == 1 && std::find(resolved.eos_token_ids.begin(), resolved.eos_token_ids.end(),
                                            sequence[0]) != resolved.eos_token_ids.end();
      if (is_eos) continue;
      for (int64_t id : sequence) check_token("bad_words_ids entry", id);
      resolved.bad_words_ids.push_back(sequence);
    }
  }
  if (config.forced_bos_token_id) {
    check_token("forced_bos_token_id", *config.forced_bos_token_id);
    resolved.forced_bos_token_id = config.forced_bos_token_id;
  }
  if (config.forced_eos_token_id) {
    resolved.forced_eos_token_ids = config.forced_eos_token_id->ids;
    for (int64_t id : resolved.forced_eos_token_ids) check_token("forced_eos_token_id", id);
  }
  return resolved;
}

}  // namespace dtrain::model
