#pragma once
// generation_config.json as a struct, with the fields and semantics of transformers' GenerationConfig
// for greedy and beam search. Torch-free: configs and command lines read it too.
//
// As in transformers 5, every field is optional: an unset field takes generate()'s global default
// (max_length 20 new tokens, num_beams 1, length_penalty 1.0, early_stopping false, ...) when
// generation starts, so a file written back holds exactly the fields that were set. Fields dtrain
// does not interpret are kept verbatim in `extra`; those that would change the output of greedy or
// beam search (do_sample, repetition_penalty, suppress_tokens, ...) make generate() stop with an
// error naming them instead of being ignored.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dtrain::model {

// early_stopping: false (the heuristic), true (stop once num_beams hypotheses are finished) or "never".
enum class EarlyStopping { kHeuristic, kWhenFull, kNever };

// A token id field that config files write as one integer or as a list (eos_token_id).
struct TokenIdList {
  std::vector<int64_t> ids;
  bool written_as_list = false;  // written back the way it was read
};

struct GenerationConfig {
  // Length
  std::optional<int64_t> max_length;      // decoder sequence length, start token included
  std::optional<int64_t> max_new_tokens;  // wins over max_length
  std::optional<int64_t> min_length;
  std::optional<int64_t> min_new_tokens;  // wins over min_length
  // Strategy
  std::optional<int64_t> num_beams;
  std::optional<int64_t> num_return_sequences;
  std::optional<double> length_penalty;
  std::optional<EarlyStopping> early_stopping;
  std::optional<bool> do_sample;  // only false is supported
  std::optional<bool> use_cache;  // dtrain always caches; kept for the round trip
  // Logits processors
  std::optional<int64_t> no_repeat_ngram_size;
  std::optional<std::vector<std::vector<int64_t>>> bad_words_ids;
  std::optional<int64_t> forced_bos_token_id;
  std::optional<TokenIdList> forced_eos_token_id;
  std::optional<bool> renormalize_logits;
  // Special tokens
  std::optional<int64_t> decoder_start_token_id;
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> pad_token_id;
  std::optional<TokenIdList> eos_token_id;

  nlohmann::json extra = nlohmann::json::object();  // other fields, verbatim

  // Parses generation_config.json's object; errors read "<source>: field 'x' ...".
  static GenerationConfig from_json(const nlohmann::json& object,
                                    const std::string& source = "generation_config.json");
  // The generation fields of a model's config.json (what transformers does for a folder without
  // generation_config.json, and for a model built from a config): the known fields only.
  static GenerationConfig from_model_config(const nlohmann::json& model_config,
                                            const std::string& source = "config.json");
  // Only the fields that are set, plus `extra`.
  nlohmann::json to_json() const;

  // folder/generation_config.json if present, else the generation fields of folder/config.json.
  static GenerationConfig read(const std::filesystem::path& folder);
  // Writes folder/generation_config.json atomically.
  void write(const std::filesystem::path& folder) const;

  // Names of the fields in `extra` whose value would change greedy or beam search output (e.g.
  // "do_sample", "repetition_penalty"), which dtrain does not implement; empty when none.
  std::vector<std::string> unsupported_settings() const;
};

// A GenerationConfig with every default applied and the lengths resolved, as generate() sees it
// once transformers has prepared it for an encoder-decoder model (decoder prompt = the start token).
struct ResolvedGeneration {
  int64_t max_length = 0;  // total decoder length, start token included
  int64_t min_length = 0;
  int64_t num_beams = 1;
  int64_t num_return_sequences = 1;
  double length_penalty = 1.0;
  EarlyStopping early_stopping = EarlyStopping::kHeuristic;
  int64_t no_repeat_ngram_size = 0;
  std::vector<std::vector<int64_t>> bad_words_ids;  // without single-token entries equal to an eos id
  std::optional<int64_t> forced_bos_token_id;
  std::vector<int64_t> forced_eos_token_ids;  // empty: none
  bool renormalize_logits = false;
  int64_t decoder_start_token_id = 0;
  std::vector<int64_t> eos_token_ids;   // empty: generation stops at max_length only
  std::optional<int64_t> pad_token_id;  // pad_token_id, else the first eos id
  // The value finished beam-search hypotheses are padded with (transformers' `pad_token_id or
  // eos_token_id[0]`: a pad id of 0 is replaced by the eos id).
  int64_t beam_fill_token_id = -1;
};

// Applies generate()'s defaults and checks: unsupported settings, a missing decoder start token,
// num_return_sequences against num_beams, ids against the vocabulary, max_length above the
// decoder start token. `max_position_embeddings` caps the default max_length as in transformers.
ResolvedGeneration resolve_generation(const GenerationConfig& config, int64_t vocab_size,
                                      int64_t max_position_embeddings);

}  // namespace dtrain::model
