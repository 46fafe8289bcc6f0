#include "data/tokenizers/bert_tokenizer.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/sha256.h"
#include "data/tokenizers/bert_normalizer.h"
#include "data/tokenizers/bert_pre_tokenizer.h"
#include "data/tokenizers/decoding.h"
#include "data/tokenizers/wordpiece.h"

namespace dtrain::data {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> read_vocab(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  DTRAIN_CHECK(in.good(), "{}: cannot open the vocabulary (a tokenizer folder needs vocab.txt)",
               path.string());
  std::vector<std::string> vocab;
  for (std::string line; std::getline(in, line);) {
    // The reference trims trailing whitespace, which also accepts CRLF files.
    line.erase(line.find_last_not_of(" \t\r") + 1);
    vocab.push_back(std::move(line));
  }
  DTRAIN_CHECK(!in.bad(), "{}: read error", path.string());
  DTRAIN_CHECK(!vocab.empty(), "{}: the vocabulary is empty", path.string());
  return vocab;
}

json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  DTRAIN_CHECK(in.good(), "{}: cannot open", path.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    DTRAIN_FAIL("{}: invalid JSON: {}", path.string(), e.what());
  }
}

// A special token is written either as a string or, in older files, as {"content": "[CLS]", ...}.
void read_special_token(const json& config, const char* key, std::string& token) {
  const auto found = config.find(key);
  if (found == config.end() || found->is_null()) return;
  token = found->is_object() ? found->at("content").get<std::string>() : found->get<std::string>();
}

void apply_tokenizer_config(const json& config, TokenizerSettings& settings) {
  if (config.contains("do_lower_case")) settings.lowercase = config.at("do_lower_case").get<bool>();
  if (config.contains("strip_accents")) {
    const json& strip = config.at("strip_accents");
    settings.strip_accents = strip.is_null() ? std::nullopt : std::optional<bool>(strip.get<bool>());
  }
  if (config.contains("tokenize_chinese_chars")) {
    settings.tokenize_chinese_chars = config.at("tokenize_chinese_chars").get<bool>();
  }
  read_special_token(config, "unk_token", settings.unk_token);
  read_special_token(config, "cls_token", settings.cls_token);
  read_special_token(config, "sep_token", settings.sep_token);
  read_special_token(config, "pad_token", settings.pad_token);
  read_special_token(config, "mask_token", settings.mask_token);
  if (config.contains("clean_up_tokenization_spaces")) {
    settings.clean_up_tokenization_spaces = config.at("clean_up_tokenization_spaces").get<bool>();
  }
}

// tokenizer.json is what the fast tokenizer runs, so its settings win over tokenizer_config.json.
void apply_tokenizer_json(const json& tokenizer, const std::vector<std::string>& vocab,
                          TokenizerSettings& settings) {
  const json& normalizer = tokenizer.at("normalizer");
  if (!normalizer.is_null()) {
    const auto type = normalizer.at("type").get<std::string>();
    DTRAIN_CHECK(type == "BertNormalizer", "normalizer type '{}' is not supported (only BertNormalizer)",
                 type);
    settings.clean_text = normalizer.value("clean_text", true);
    settings.tokenize_chinese_chars = normalizer.value("handle_chinese_chars", true);
    settings.lowercase = normalizer.value("lowercase", true);
    const json& strip = normalizer.value("strip_accents", json());
    settings.strip_accents = strip.is_null() ? std::nullopt : std::optional<bool>(strip.get<bool>());
  }
  const json& pre_tokenizer = tokenizer.at("pre_tokenizer");
  if (!pre_tokenizer.is_null()) {
    const auto type = pre_tokenizer.at("type").get<std::string>();
    DTRAIN_CHECK(type == "BertPreTokenizer",
                 "pre_tokenizer type '{}' is not supported (only BertPreTokenizer)", type);
  }
  const json& model = tokenizer.at("model");
  const auto type = model.at("type").get<std::string>();
  DTRAIN_CHECK(type == "WordPiece", "model type '{}' is not supported (only WordPiece)", type);
  settings.unk_token = model.value("unk_token", settings.unk_token);
  settings.continuing_subword_prefix =
      model.value("continuing_subword_prefix", settings.continuing_subword_prefix);
  settings.max_input_chars_per_word =
      model.value("max_input_chars_per_word", settings.max_input_chars_per_word);
  const json& decoder = tokenizer.value("decoder", json());
  if (decoder.is_null()) {
    settings.wordpiece_decoder = false;
  } else {
    const auto decoder_type = decoder.at("type").get<std::string>();
    DTRAIN_CHECK(decoder_type == "WordPiece", "decoder type '{}' is not supported (only WordPiece)",
                 decoder_type);
    const auto prefix = decoder.value("prefix", std::string("##"));
    DTRAIN_CHECK(prefix == settings.continuing_subword_prefix,
                 "the decoder's prefix '{}' differs from the model's continuing_subword_prefix '{}'", prefix,
                 settings.continuing_subword_prefix);
    settings.decoder_cleanup = decoder.value("cleanup", true);
  }
  if (model.contains("vocab")) {
    const json& ids = model.at("vocab");
    DTRAIN_CHECK(ids.size() == vocab.size(), "its vocabulary has {} tokens but vocab.txt has {}", ids.size(),
                 vocab.size());
    for (std::size_t id = 0; id < vocab.size(); ++id) {
      const auto found = ids.find(vocab[id]);
      DTRAIN_CHECK(found != ids.end() && found->get<std::size_t>() == id,
                   "token '{}' (line {} of vocab.txt) does not have id {} in it", vocab[id], id + 1, id);
    }
  }
}

// Token counts kept of sequences a and b to fit `budget` tokens, as the Rust crate's
// `longest_first` truncation computes them: when only the longer sequence is over its share it alone
// is cut; when both are, the budget is split in half (the longer one gets the odd token).
std::pair<std::size_t, std::size_t> longest_first_lengths(std::size_t length_a, std::size_t length_b,
                                                          std::size_t budget) {
  if (length_a + length_b <= budget) return {length_a, length_b};
  std::size_t shorter = std::min(length_a, length_b);
  std::size_t longer = shorter > budget ? shorter : std::max(shorter, budget - shorter);
  if (shorter + longer > budget) {
    shorter = budget / 2;
    longer = shorter + budget % 2;
  }
  const bool a_is_longer = length_a > length_b;
  const std::size_t keep_a = a_is_longer ? longer : shorter;
  const std::size_t keep_b = a_is_longer ? shorter : longer;
  return {std::min(keep_a, length_a), std::min(keep_b, length_b)};
}

// The Rust WordPiece decoder's `cleanup`, applied to each decoded token: transformers'
// clean_up_tokenization plus " do not" -> " don't" (no other rule matches what either side writes,
// so the order does not matter).
std::string cleanup_wordpiece(std::string text) {
  return clean_up_tokenization(replace_all(std::move(text), " do not", " don't"));
}

// Reads an optional JSON file of the tokenizer folder and applies it; errors name the file.
template <typename Apply>
void apply_json_file(const fs::path& path, Apply&& apply) {
  if (!fs::exists(path)) return;
  const json document = read_json(path);
  try {
    apply(document);
  } catch (const json::exception& e) {
    DTRAIN_FAIL("{}: unexpected content: {}", path.string(), e.what());
  } catch (const Error& e) {
    DTRAIN_FAIL("{}: {}", path.string(), e.what());
  }
}

}  // namespace

std::string TokenizerSettings::to_json() const {
  json settings = {
      {"lowercase", lowercase},
      {"strip_accents", strip_accents ? json(*strip_accents) : json()},
      {"tokenize_chinese_chars", tokenize_chinese_chars},
      {"clean_text", clean_text},
      {"unk_token", unk_token},
      {"cls_token", cls_token},
      {"sep_token", sep_token},
      {"pad_token", pad_token},
      {"mask_token", mask_token},
      {"continuing_subword_prefix", continuing_subword_prefix},
      {"max_input_chars_per_word", max_input_chars_per_word},
  };
  return settings.dump();
}

std::string TokenizerSettings::hf_tokenizer_config() const {
  json config = json::parse(hf_special_tokens_map());
  config["tokenizer_class"] = "BertTokenizer";
  config["do_lower_case"] = lowercase;
  config["strip_accents"] = strip_accents ? json(*strip_accents) : json();
  config["tokenize_chinese_chars"] = tokenize_chinese_chars;
  return config.dump(2) + "\n";
}

std::string TokenizerSettings::hf_special_tokens_map() const {
  const json tokens = {{"cls_token", cls_token},
                       {"mask_token", mask_token},
                       {"pad_token", pad_token},
                       {"sep_token", sep_token},
                       {"unk_token", unk_token}};
  return tokens.dump(2) + "\n";
}

BertTokenizer BertTokenizer::from_folder(const fs::path& folder) {
  const fs::path vocab_path = folder / "vocab.txt";
  DTRAIN_CHECK(fs::is_regular_file(vocab_path), "{}: not found (a tokenizer folder needs vocab.txt)",
               vocab_path.string());
  std::vector<std::string> vocab = read_vocab(vocab_path);
  TokenizerSettings settings;
  apply_json_file(folder / "tokenizer_config.json",
                  [&](const json& config) { apply_tokenizer_config(config, settings); });
  apply_json_file(folder / "tokenizer.json",
                  [&](const json& tokenizer) { apply_tokenizer_json(tokenizer, vocab, settings); });
  try {
    BertTokenizer tokenizer(std::move(vocab), std::move(settings));
    for (const char* name :
         {"vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"}) {
      if (fs::is_regular_file(folder / name)) tokenizer.model_files_.emplace_back(name);
    }
    return tokenizer;
  } catch (const Error& e) {
    DTRAIN_FAIL("{}: {}", vocab_path.string(), e.what());
  }
}

BertTokenizer::BertTokenizer(std::vector<std::string> vocab, TokenizerSettings settings)
    : vocab_(std::move(vocab)), settings_(std::move(settings)) {
  wordpiece_ = std::make_shared<const WordPiece>(vocab_, settings_.continuing_subword_prefix,
                                                 settings_.unk_token, settings_.max_input_chars_per_word);
  normalizer_ = std::make_shared<const BertNormalizer>(settings_);
  is_special_.assign(vocab_.size(), false);
  const auto special_id = [&](const std::string& token, const char* role) {
    DTRAIN_CHECK(!token.empty(), "the {} is empty", role);
    const auto id = wordpiece_->find(token);
    DTRAIN_CHECK(id.has_value(), "the {} '{}' is not in the vocabulary", role, token);
    special_tokens_.emplace_back(token, *id);
    is_special_[*id] = true;
    special_first_bytes_.set(static_cast<unsigned char>(token.front()));
    return *id;
  };
  unk_id_ = special_id(settings_.unk_token, "unk_token");
  cls_id_ = special_id(settings_.cls_token, "cls_token");
  sep_id_ = special_id(settings_.sep_token, "sep_token");
  pad_id_ = special_id(settings_.pad_token, "pad_token");
  special_id(settings_.mask_token, "mask_token");
  // Longest first, so the first token that matches at a position is the longest one there.
  std::stable_sort(special_tokens_.begin(), special_tokens_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::string joined;
  for (const std::string& token : vocab_) joined.append(token).push_back('\n');
  if (!joined.empty()) joined.pop_back();
  vocab_sha256_ = sha256_hex(joined);
}

std::vector<int32_t> BertTokenizer::tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  append_ids(text, ids);
  return ids;
}

void BertTokenizer::append_ids(std::string_view text, std::vector<int32_t>& ids) const {
  // Like the fast tokenizer, special tokens written in the raw text are kept whole (before any
  // normalisation); only the text between them goes through the BERT pipeline.
  std::string normalized;
  std::size_t segment_start = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    if (special_first_bytes_.test(static_cast<unsigned char>(text[pos]))) {
      const auto special = std::find_if(
          special_tokens_.begin(), special_tokens_.end(),
          [&](const auto& token) { return text.compare(pos, token.first.size(), token.first) == 0; });
      if (special != special_tokens_.end()) {
        append_segment_ids(text.substr(segment_start, pos - segment_start), segment_start, normalized, ids);
        ids.push_back(special->second);
        pos += special->first.size();
        segment_start = pos;
        continue;
      }
    }
    ++pos;
  }
  append_segment_ids(text.substr(segment_start), segment_start, normalized, ids);
}

void BertTokenizer::append_segment_ids(std::string_view segment, std::size_t base, std::string& normalized,
                                       std::vector<int32_t>& ids) const {
  normalized.clear();
  normalizer_->normalize(segment, base, normalized);
  for_each_bert_word(normalized, [&](std::string_view word) { wordpiece_->tokenize_word(word, ids); });
}

Encoding BertTokenizer::encode(std::string_view text_a, std::optional<std::string_view> text_b,
                               int max_length) const {
  const int special_count = text_b ? 3 : 2;
  DTRAIN_CHECK(max_length >= special_count, "max_length {} cannot hold the {} special tokens of {}",
               max_length, special_count,
               text_b ? "a sentence pair ([CLS] a [SEP] b [SEP])" : "one sentence ([CLS] a [SEP])");
  std::vector<int32_t> ids_a = tokenize(text_a);
  std::vector<int32_t> ids_b = text_b ? tokenize(*text_b) : std::vector<int32_t>();
  const auto [keep_a, keep_b] =
      longest_first_lengths(ids_a.size(), ids_b.size(), static_cast<std::size_t>(max_length - special_count));

  Encoding encoding;
  const std::size_t total = keep_a + keep_b + static_cast<std::size_t>(special_count);
  encoding.input_ids.reserve(total);
  encoding.input_ids.push_back(cls_id_);
  encoding.input_ids.insert(encoding.input_ids.end(), ids_a.begin(), ids_a.begin() + keep_a);
  encoding.input_ids.push_back(sep_id_);
  encoding.token_type_ids.assign(encoding.input_ids.size(), 0);
  if (text_b) {
    encoding.input_ids.insert(encoding.input_ids.end(), ids_b.begin(), ids_b.begin() + keep_b);
    encoding.input_ids.push_back(sep_id_);
    encoding.token_type_ids.resize(encoding.input_ids.size(), 1);
  }
  return encoding;
}

std::vector<int32_t> BertTokenizer::encode(std::string_view text, int max_length) const {
  return encode(text, std::nullopt, max_length).input_ids;
}

std::vector<int32_t> BertTokenizer::encode_target(std::string_view, int) const {
  DTRAIN_FAIL(
      "a BERT WordPiece tokenizer has no target side (sequence-to-sequence tasks need a Marian tokenizer)");
}

std::string BertTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  DTRAIN_CHECK(settings_.wordpiece_decoder,
               "this tokenizer.json has no decoder; dtrain decodes with WordPiece's");
  const std::string& prefix = settings_.continuing_subword_prefix;
  std::string text;
  bool first = true;
  for (const int32_t id : ids) {
    DTRAIN_CHECK(id >= 0 && id < vocab_size(), "token id {} is outside the vocabulary ({} tokens)", id,
                 vocab_size());
    if (skip_special_tokens && is_special_[id]) continue;
    const std::string& token = vocab_[id];
    std::string piece;
    if (first) {
      piece = token;
    } else if (!prefix.empty() && token.compare(0, prefix.size(), prefix) == 0) {
      piece = token.substr(prefix.size());
    } else {
      piece = " " + token;
    }
    text += settings_.decoder_cleanup ? cleanup_wordpiece(std::move(piece)) : piece;
    first = false;
  }
  return settings_.clean_up_tokenization_spaces ? clean_up_tokenization(std::move(text)) : text;
}

SpecialTokenIds BertTokenizer::special_ids() const {
  SpecialTokenIds ids;
  ids.pad = pad_id_;
  ids.unk = unk_id_;
  ids.cls = cls_id_;
  ids.sep = sep_id_;
  return ids;
}

std::map<std::string, std::string> BertTokenizer::generated_model_files() const {
  const auto present = [&](const std::string& name) {
    return std::find(model_files_.begin(), model_files_.end(), name) != model_files_.end();
  };
  std::map<std::string, std::string> files;
  if (!present("tokenizer_config.json")) files["tokenizer_config.json"] = settings_.hf_tokenizer_config();
  if (!present("special_tokens_map.json"))
    files["special_tokens_map.json"] = settings_.hf_special_tokens_map();
  return files;
}

}  // namespace dtrain::data
