#include "data/tokenizers/marian_tokenizer.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/sha256.h"
#include "data/tokenizers/decoding.h"
#include "data/tokenizers/utf8.h"

namespace dtrain::data {
namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr const char* kSpaceSymbol = "\xE2\x96\x81";  // U+2581, SentencePiece's word boundary

// transformers' SPECIAL_TOKENS_ATTRIBUTES, in its order (which decides the ids of special tokens
// missing from vocab.json).
constexpr const char* kNamedSpecialTokens[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                               "pad_token", "cls_token", "mask_token"};

ordered_json read_json_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  DTRAIN_CHECK(in.good(), "{}: cannot open", path.string());
  try {
    return ordered_json::parse(in);
  } catch (const json::exception& e) {
    DTRAIN_FAIL("{}: invalid JSON: {}", path.string(), e.what());
  }
}

void validate_utf8(std::string_view text) {
  char32_t code;
  for (std::size_t pos = 0; pos < text.size();) pos += decode_utf8(text, pos, 0, code);
}

// A token is written as a string or as {"content": "...", ...} (an AddedToken).
std::string token_content(const ordered_json& value, const std::string& key) {
  if (value.is_string()) return value.get<std::string>();
  DTRAIN_CHECK(value.is_object() && value.contains("content") && value.at("content").is_string(),
               "'{}' must be a string or an object with a string 'content'", key);
  return value.at("content").get<std::string>();
}

// Special-token settings gathered from tokenizer_config.json and special_tokens_map.json.
struct SpecialTokenConfig {
  std::vector<std::pair<std::string, std::optional<std::string>>> named;  // key -> token (nullopt: null)
  std::vector<std::string> extra;
  struct Added {
    int32_t id;
    std::string content;
  };
  std::vector<Added> added;  // added_tokens_decoder

  void set_named(const std::string& key, std::optional<std::string> token) {
    for (auto& [name, value] : named) {
      if (name == key) {
        value = std::move(token);
        return;
      }
    }
    named.emplace_back(key, std::move(token));
  }
  void add_extra(const ordered_json& list, const std::string& key) {
    DTRAIN_CHECK(list.is_array() || list.is_object(), "'{}' must be a list of tokens", key);
    for (const auto& [name, value] : list.items()) {
      std::string token = token_content(value, key);
      if (list.is_object()) {
        set_named(name, std::move(token));
      } else if (std::find(extra.begin(), extra.end(), token) == extra.end()) {
        extra.push_back(std::move(token));
      }
    }
  }
};

bool is_named_special(const std::string& key) {
  return std::any_of(std::begin(kNamedSpecialTokens), std::end(kNamedSpecialTokens),
                     [&](const char* name) { return key == name; });
}

// Named special tokens (and model-specific "*_token" strings) and extra special tokens of one JSON file.
void read_special_tokens(const ordered_json& config, SpecialTokenConfig& specials) {
  for (const auto& [key, value] : config.items()) {
    if (key == "extra_special_tokens" || key == "additional_special_tokens") {
      if (!value.is_null()) specials.add_extra(value, key);
    } else if (is_named_special(key)) {
      specials.set_named(
          key, value.is_null() ? std::nullopt : std::optional<std::string>(token_content(value, key)));
    } else if (key.size() > 6 && key.compare(key.size() - 6, 6, "_token") == 0 &&
               (value.is_string() || (value.is_object() && value.contains("content")))) {
      specials.set_named(key, token_content(value, key));
    }
  }
}

void read_added_tokens(const ordered_json& decoder, SpecialTokenConfig& specials) {
  DTRAIN_CHECK(decoder.is_object(), "'added_tokens_decoder' must be an object of id -> token");
  for (const auto& [id_text, token] : decoder.items()) {
    std::size_t parsed = 0;
    int64_t id = -1;
    try {
      id = std::stoll(id_text, &parsed);
    } catch (const std::exception&) {
    }
    DTRAIN_CHECK(parsed == id_text.size() && id >= 0 && id <= INT32_MAX,
                 "added_tokens_decoder: '{}' is not a token id", id_text);
    const std::string content = token_content(token, "added_tokens_decoder." + id_text);
    for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
      DTRAIN_CHECK(!token.is_object() || !token.value(flag, false),
                   "added_tokens_decoder: token '{}' sets {}, which dtrain does not support", content, flag);
    }
    specials.added.push_back({static_cast<int32_t>(id), content});
  }
}

// SentencePieceProcessor options of transformers' sp_model_kwargs that leave encoding deterministic
// and unchanged; anything else (subword sampling) is refused rather than ignored.
void check_sp_model_kwargs(const ordered_json& kwargs) {
  if (kwargs.is_null()) return;
  DTRAIN_CHECK(kwargs.is_object(), "'sp_model_kwargs' must be an object");
  for (const auto& [key, value] : kwargs.items()) {
    const bool harmless =
        (key == "enable_sampling" && value == false) || key == "nbest_size" || key == "alpha";
    DTRAIN_CHECK(harmless,
                 "sp_model_kwargs.{} = {} is not supported: dtrain encodes deterministically with the "
                 "SentencePiece model as it is",
                 key, value.dump());
  }
}

}  // namespace

// Reads the folder's files into the constructor's arguments; a class so that it may use the
// tokenizer's private types.
class MarianFolderReader {
 public:
  static MarianTokenizer read(const fs::path& folder) {
    const fs::path config_path = folder / "tokenizer_config.json";
    const fs::path special_map_path = folder / "special_tokens_map.json";
    MarianSettings settings;
    SpecialTokenConfig specials;
    ordered_json config = ordered_json::object();
    if (fs::is_regular_file(config_path)) config = read_json_file(config_path);
    with_context(config_path, [&] {
      DTRAIN_CHECK(config.is_object(), "must be a JSON object");
      apply_config(config, settings);
      read_special_tokens(config, specials);
      if (config.contains("added_tokens_decoder"))
        read_added_tokens(config.at("added_tokens_decoder"), specials);
      check_sp_model_kwargs(config.value("sp_model_kwargs", ordered_json()));
    });
    // As transformers: special_tokens_map.json counts only for folders saved without added_tokens_decoder.
    if (!config.contains("added_tokens_decoder") && fs::is_regular_file(special_map_path)) {
      const ordered_json map = read_json_file(special_map_path);
      with_context(special_map_path, [&] {
        DTRAIN_CHECK(map.is_object(), "must be a JSON object");
        read_special_tokens(map, specials);
      });
    }
    // Likewise added_tokens.json, which save_pretrained still writes beside added_tokens_decoder.
    const fs::path added_path = folder / "added_tokens.json";
    if (!config.contains("added_tokens_decoder") && fs::is_regular_file(added_path)) {
      const ordered_json added = read_json_file(added_path);
      with_context(added_path, [&] {
        DTRAIN_CHECK(added.is_object(), "must be a JSON object of token -> id");
        for (const auto& [content, id] : added.items()) {
          DTRAIN_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() <= INT32_MAX,
                       "token '{}' has id {}; ids must be integers from 0", content, id.dump());
          specials.added.push_back({id.get<int32_t>(), content});
        }
      });
    }
    with_context(config_path, [&] {
      for (const auto& [key, token] : specials.named) {
        std::string* field = key == "unk_token"   ? &settings.unk_token
                             : key == "eos_token" ? &settings.eos_token
                             : key == "pad_token" ? &settings.pad_token
                                                  : nullptr;
        if (!field) continue;
        DTRAIN_CHECK(token.has_value(), "{} is null, but a Marian tokenizer needs one", key);
        *field = *token;
      }
    });

    SentencePieceModel source_spm = SentencePieceModel::from_file(folder / "source.spm");
    SentencePieceModel target_spm = SentencePieceModel::from_file(folder / "target.spm");
    MarianTokenizer::Vocabulary source_vocab = read_vocabulary(folder / "vocab.json");
    std::optional<MarianTokenizer::Vocabulary> target_vocab;
    if (settings.separate_vocabs) {
      DTRAIN_CHECK(fs::is_regular_file(folder / "target_vocab.json"),
                   "{}: not found (tokenizer_config.json sets separate_vocabs)",
                   (folder / "target_vocab.json").string());
      target_vocab = read_vocabulary(folder / "target_vocab.json");
      DTRAIN_CHECK(target_vocab->ids.count(settings.unk_token), "{}: the unk_token '{}' is not in it",
                   (folder / "target_vocab.json").string(), settings.unk_token);
    }
    DTRAIN_CHECK(source_vocab.ids.count(settings.unk_token), "{}: the unk_token '{}' is not in it",
                 (folder / "vocab.json").string(), settings.unk_token);

    MarianTokenizer tokenizer(std::move(source_spm), std::move(target_spm), std::move(source_vocab),
                              std::move(target_vocab), std::move(settings));
    add_tokens(tokenizer, specials);
    std::vector<std::string> files{"source.spm", "target.spm", "vocab.json"};
    if (tokenizer.settings_.separate_vocabs) files.emplace_back("target_vocab.json");
    for (const char* name : {"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"}) {
      if (fs::is_regular_file(folder / name)) files.emplace_back(name);
    }
    tokenizer.model_files_ = std::move(files);
    return tokenizer;
  }

 private:
  // vocab.json / target_vocab.json: {"token": id} with ids 0..n-1, each once.
  static MarianTokenizer::Vocabulary read_vocabulary(const fs::path& path) {
    DTRAIN_CHECK(fs::is_regular_file(path), "{}: not found", path.string());
    const ordered_json document = read_json_file(path);
    DTRAIN_CHECK(document.is_object() && !document.empty(),
                 "{}: must be a non-empty JSON object of token -> id", path.string());
    std::vector<std::optional<std::string>> by_id(document.size());
    for (const auto& [token, id] : document.items()) {
      DTRAIN_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0,
                   "{}: token '{}' has id {}; ids must be integers from 0", path.string(), token, id.dump());
      const auto index = id.get<uint64_t>();
      DTRAIN_CHECK(index < by_id.size(),
                   "{}: token '{}' has id {}, but {} tokens need ids 0 to {} without gaps", path.string(),
                   token, index, by_id.size(), by_id.size() - 1);
      DTRAIN_CHECK(!by_id[index], "{}: tokens '{}' and '{}' both have id {}", path.string(), *by_id[index],
                   token, index);
      by_id[index] = token;
    }
    MarianTokenizer::Vocabulary vocabulary;
    vocabulary.tokens.reserve(by_id.size());
    std::string joined;
    for (auto& token : by_id) {
      vocabulary.ids.emplace(*token, static_cast<int32_t>(vocabulary.tokens.size()));
      joined.append(*token).push_back('\n');
      vocabulary.tokens.push_back(std::move(*token));
    }
    joined.pop_back();
    vocabulary.sha256 = sha256_hex(joined);
    return vocabulary;
  }

  template <typename Action>
  static void with_context(const fs::path& path, Action&& action) {
    try {
      action();
    } catch (const json::exception& e) {
      DTRAIN_FAIL("{}: unexpected content: {}", path.string(), e.what());
    } catch (const Error& e) {
      DTRAIN_FAIL("{}: {}", path.string(), e.what());
    }
  }

  // Added tokens as transformers registers them: those of added_tokens_decoder, then every special
  // token under the id vocab.json gives it or, if it has none, the next free id.
  static void add_tokens(MarianTokenizer& tokenizer, const SpecialTokenConfig& specials) {
    const auto add = [&](int32_t id, const std::string& content) {
      tokenizer.added_ids_[content] = id;
      tokenizer.added_contents_[id] = content;
    };
    for (const auto& added : specials.added) add(added.id, added.content);
    std::vector<std::string>& special_tokens = tokenizer.special_tokens_;
    const auto note_special = [&](const std::string& token) {
      if (!token.empty() &&
          std::find(special_tokens.begin(), special_tokens.end(), token) == special_tokens.end())
        special_tokens.push_back(token);
    };
    // Marian's defaults stand unless the files name other tokens.
    const MarianSettings& settings = tokenizer.settings_;
    for (const char* key : kNamedSpecialTokens) {
      const std::string name = key;
      const auto found = std::find_if(specials.named.begin(), specials.named.end(),
                                      [&](const auto& entry) { return entry.first == name; });
      if (found != specials.named.end()) {
        if (found->second) note_special(*found->second);
      } else if (name == "unk_token") {
        note_special(settings.unk_token);
      } else if (name == "eos_token") {
        note_special(settings.eos_token);
      } else if (name == "pad_token") {
        note_special(settings.pad_token);
      }
    }
    for (const auto& [key, token] : specials.named) {
      if (!is_named_special(key) && token) note_special(*token);
    }
    for (const std::string& token : specials.extra) note_special(token);

    const MarianTokenizer::Vocabulary& vocab = tokenizer.source_vocab_;
    std::size_t known = vocab.tokens.size();  // distinct tokens of vocab.json and the added ones
    for (const auto& [content, id] : tokenizer.added_ids_) known += vocab.ids.count(content) ? 0 : 1;
    for (const std::string& token : special_tokens) {
      if (tokenizer.added_ids_.count(token)) continue;
      const auto in_vocab = vocab.ids.find(token);
      add(in_vocab != vocab.ids.end() ? in_vocab->second : static_cast<int32_t>(known++), token);
    }
    tokenizer.index_tokens();
  }

  static void apply_config(const ordered_json& config, MarianSettings& settings) {
    settings.separate_vocabs = config.value("separate_vocabs", false);
    for (auto [key, field] :
         {std::pair{"source_lang", &settings.source_lang}, {"target_lang", &settings.target_lang}}) {
      const auto found = config.find(key);
      if (found != config.end() && !found->is_null()) *field = found->template get<std::string>();
    }
    settings.split_special_tokens = config.value("split_special_tokens", false);
    settings.clean_up_tokenization_spaces = config.value("clean_up_tokenization_spaces", false);
    const auto side = config.value("truncation_side", std::string("right"));
    DTRAIN_CHECK(side == "right" || side == "left", "truncation_side must be 'right' or 'left', got '{}'",
                 side);
    settings.truncate_left = side == "left";
  }
};

MarianTokenizer MarianTokenizer::from_folder(const fs::path& folder) {
  return MarianFolderReader::read(folder);
}

MarianTokenizer::MarianTokenizer(SentencePieceModel source_spm, SentencePieceModel target_spm,
                                 Vocabulary source_vocab, std::optional<Vocabulary> target_vocab,
                                 MarianSettings settings)
    : source_spm_(std::move(source_spm)),
      target_spm_(std::move(target_spm)),
      source_vocab_(std::move(source_vocab)),
      target_vocab_(std::move(target_vocab)),
      settings_(std::move(settings)) {}

void MarianTokenizer::index_tokens() {
  added_tokens_.clear();
  added_first_bytes_.reset();
  int32_t largest_added = -1;
  for (const auto& [content, id] : added_ids_) {
    if (content.empty()) continue;
    added_tokens_.push_back({content, id});
    added_first_bytes_.set(static_cast<unsigned char>(content.front()));
    largest_added = std::max(largest_added, id);
  }
  // Longest first, so the first token that matches at a position is the longest one there; ties in
  // content order, so the matching order does not depend on the hash map's.
  std::sort(added_tokens_.begin(), added_tokens_.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.content.size() != b.content.size() ? a.content.size() > b.content.size() : a.content < b.content;
  });
  special_token_ids_.clear();
  for (const std::string& token : special_tokens_) special_token_ids_.push_back(added_ids_.at(token));
  special_ids_ = SpecialTokenIds();
  special_ids_.pad = added_ids_.at(settings_.pad_token);
  special_ids_.unk = added_ids_.at(settings_.unk_token);
  special_ids_.eos = added_ids_.at(settings_.eos_token);
  special_ids_.decoder_start = special_ids_.pad;
  vocab_size_ = std::max(static_cast<int>(source_vocab_.tokens.size()), largest_added + 1);
  target_vocab_size_ = target_vocab_
                           ? std::max(static_cast<int>(target_vocab_->tokens.size()), largest_added + 1)
                           : vocab_size_;
}

int32_t MarianTokenizer::token_id(const std::string& token, TextSide side) const {
  const auto added = added_ids_.find(token);
  if (added != added_ids_.end()) return added->second;
  const Vocabulary& vocab = side == TextSide::kTarget ? target_vocabulary() : source_vocab_;
  const auto found = vocab.ids.find(token);
  // Pieces of the SentencePiece model that vocab.json lacks are unknown, as in transformers (the
  // vocabulary's ids are not the model's).
  return found != vocab.ids.end() ? found->second : vocab.ids.at(settings_.unk_token);
}

template <typename Emit>
void MarianTokenizer::for_each_token(std::string_view text, TextSide side, Emit&& emit) const {
  validate_utf8(text);
  const SentencePieceModel& spm = side == TextSide::kTarget ? target_spm_ : source_spm_;
  const auto emit_text = [&](std::string_view chunk) {
    if (chunk.empty()) return;
    // A language code such as ">>fr<<" at the start of a chunk is one token (transformers'
    // remove_language_code).
    if (chunk.size() >= 2 && chunk.compare(0, 2, ">>") == 0) {
      const std::size_t end = chunk.find("<<");
      if (end != std::string_view::npos) {
        emit(std::string(chunk.substr(0, end + 2)));
        chunk.remove_prefix(end + 2);
      }
    }
    for (std::string& piece : spm.encode(chunk)) emit(std::move(piece));
  };
  if (settings_.split_special_tokens || added_tokens_.empty()) {
    emit_text(text);
    return;
  }
  // Added tokens are matched whole, leftmost and longest first (transformers' Trie.split); the text
  // between them is tokenized piece by piece.
  std::size_t chunk_start = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    if (added_first_bytes_.test(static_cast<unsigned char>(text[pos]))) {
      const auto match =
          std::find_if(added_tokens_.begin(), added_tokens_.end(), [&](const AddedToken& token) {
            return text.compare(pos, token.content.size(), token.content) == 0;
          });
      if (match != added_tokens_.end()) {
        emit_text(text.substr(chunk_start, pos - chunk_start));
        emit(match->content);
        pos += match->content.size();
        chunk_start = pos;
        continue;
      }
    }
    ++pos;
  }
  emit_text(text.substr(chunk_start));
}

std::vector<std::string> MarianTokenizer::tokenize_to_pieces(std::string_view text, TextSide side) const {
  std::vector<std::string> pieces;
  for_each_token(text, side, [&](std::string token) { pieces.push_back(std::move(token)); });
  return pieces;
}

std::vector<int32_t> MarianTokenizer::tokenize(std::string_view text, TextSide side) const {
  std::vector<int32_t> ids;
  for_each_token(text, side, [&](const std::string& token) { ids.push_back(token_id(token, side)); });
  return ids;
}

// transformers' prepare_for_model with truncation: the text keeps max_length - 1 ids, then "</s>".
std::vector<int32_t> MarianTokenizer::truncated_with_eos(std::vector<int32_t> ids, int max_length) const {
  DTRAIN_CHECK(max_length >= 1, "max_length {} cannot hold the end-of-sequence token {}", max_length,
               settings_.eos_token);
  const auto keep = static_cast<std::size_t>(max_length - 1);
  if (ids.size() > keep) {
    if (settings_.truncate_left) {
      ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(keep));
    } else {
      ids.resize(keep);
    }
  }
  ids.push_back(*special_ids_.eos);
  return ids;
}

std::vector<int32_t> MarianTokenizer::encode(std::string_view text, int max_length) const {
  return truncated_with_eos(tokenize(text, TextSide::kSource), max_length);
}

std::vector<int32_t> MarianTokenizer::encode_target(std::string_view text, int max_length) const {
  return truncated_with_eos(tokenize(text, TextSide::kTarget), max_length);
}

const std::string& MarianTokenizer::token(int32_t id) const {
  const auto added = added_contents_.find(id);
  if (added != added_contents_.end()) return added->second;
  const Vocabulary& vocab = target_vocabulary();
  DTRAIN_CHECK(id >= 0 && static_cast<std::size_t>(id) < vocab.tokens.size(),
               "token id {} is outside the vocabulary ({} tokens)", id, target_vocab_size_);
  return vocab.tokens[id];
}

std::string MarianTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  // transformers 5.x decodes with source.spm unless the vocabularies are separate.
  const SentencePieceModel& spm = settings_.separate_vocabs ? target_spm_ : source_spm_;
  const auto is_special_id = [&](int32_t id) {
    return std::find(special_token_ids_.begin(), special_token_ids_.end(), id) != special_token_ids_.end();
  };
  const auto is_special_token = [&](const std::string& token) {
    return std::find(special_tokens_.begin(), special_tokens_.end(), token) != special_tokens_.end();
  };
  // convert_tokens_to_string: runs of pieces go through SentencePiece; special tokens are kept as
  // they are, each followed by a space.
  std::string text;
  std::vector<std::string> pieces;
  for (const int32_t id : ids) {
    if (skip_special_tokens && is_special_id(id)) continue;
    const std::string& piece = token(id);
    if (is_special_token(piece)) {
      text += spm.decode(pieces) + piece + " ";
      pieces.clear();
    } else {
      pieces.push_back(piece);
    }
  }
  text += spm.decode(pieces);
  text = strip_python_whitespace(replace_all(std::move(text), kSpaceSymbol, " "));
  return settings_.clean_up_tokenization_spaces ? clean_up_tokenization(std::move(text)) : text;
}

std::string MarianTokenizer::settings_json() const {
  json added = json::object();
  for (const auto& [content, id] : added_ids_) added[content] = id;
  const auto optional_string = [](const std::optional<std::string>& value) {
    return value ? json(*value) : json();
  };
  return json{
      {"type", "marian"},
      {"separate_vocabs", settings_.separate_vocabs},
      {"source_spm_sha256", source_spm_.sha256()},
      {"target_spm_sha256", target_spm_.sha256()},
      {"source_lang", optional_string(settings_.source_lang)},
      {"target_lang", optional_string(settings_.target_lang)},
      {"unk_token", settings_.unk_token},
      {"eos_token", settings_.eos_token},
      {"pad_token", settings_.pad_token},
      {"special_tokens", special_tokens_},
      {"added_tokens", added},
      {"split_special_tokens", settings_.split_special_tokens},
      {"truncation_side", settings_.truncate_left ? "left" : "right"},
  }
      .dump();
}

std::string MarianTokenizer::model_config_fields_json() const {
  return json{
      {"vocab_size", vocab_size_},
      {"decoder_vocab_size", target_vocab_size_},
      {"share_encoder_decoder_embeddings", !settings_.separate_vocabs},
      {"pad_token_id", special_ids_.pad},
      {"decoder_start_token_id", *special_ids_.decoder_start},
      {"eos_token_id", *special_ids_.eos},
      {"forced_eos_token_id", *special_ids_.eos},
  }
      .dump(2);
}

}  // namespace dtrain::data
