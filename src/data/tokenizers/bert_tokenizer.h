#pragma once
// BERT WordPiece tokenizer that reproduces the Hugging Face fast tokenizer (`tokenizers`)
// id for id: BertNormalizer -> BertPreTokenizer -> WordPiece -> [CLS] a [SEP] (b [SEP]),
// with `longest_first` truncation exactly as the fast tokenizer performs it, and its WordPiece decoder.
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/tokenizers/tokenizer.h"

namespace dtrain::data {

class BertNormalizer;
class WordPiece;

struct TokenizerSettings {
  bool lowercase = true;
  std::optional<bool> strip_accents;  // unset: follows `lowercase`, as in Hugging Face
  bool tokenize_chinese_chars = true;
  bool clean_text = true;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";
  std::string continuing_subword_prefix = "##";
  int max_input_chars_per_word = 100;
  // Decoding only (not in to_json(): they do not change ids). Whether tokenizer.json has a (WordPiece)
  // decoder, its `cleanup` of each token, and tokenizer_config.json's clean_up_tokenization_spaces of
  // the whole text.
  bool wordpiece_decoder = true;
  bool decoder_cleanup = true;
  bool clean_up_tokenization_spaces = false;

  std::string to_json() const;  // recorded in prepared datasets
  // Hugging Face's tokenizer_config.json and special_tokens_map.json for these settings (JSON text),
  // for a tokenizer folder that has only vocab.txt: AutoTokenizer then builds a BertTokenizer that
  // tokenizes as this one.
  std::string hf_tokenizer_config() const;
  std::string hf_special_tokens_map() const;
};

struct Encoding {
  std::vector<int32_t> input_ids;
  std::vector<int8_t> token_type_ids;
};

class BertTokenizer : public Tokenizer {
 public:
  // Loads a Hugging Face tokenizer folder: vocab.txt (required), and tokenizer_config.json /
  // tokenizer.json when present for lower-casing, accent stripping and special tokens (tokenizer.json
  // wins: it is what the fast tokenizer runs). Errors name the file.
  static BertTokenizer from_folder(const std::filesystem::path& folder);
  BertTokenizer(std::vector<std::string> vocab, TokenizerSettings settings);

  // Word-piece ids of one text, no special tokens added, no truncation. As in the fast tokenizer,
  // special tokens written in the text (e.g. "[SEP]", case-sensitive) become their ids.
  std::vector<int32_t> tokenize(std::string_view text) const;

  // [CLS] a [SEP] or [CLS] a [SEP] b [SEP], truncated `longest_first` to max_length tokens.
  // Throws dtrain::Error when max_length cannot hold the special tokens, and
  // "invalid UTF-8 at byte N" (N counted from 0) for malformed text (tokenize() too).
  Encoding encode(std::string_view text_a, std::optional<std::string_view> text_b, int max_length) const;

  // Tokenizer: [CLS] text [SEP]; BERT has no target side (encode_target throws). decode() joins word
  // pieces as the fast tokenizer's WordPiece decoder does ("##" continues a word), skipping
  // [CLS]/[SEP]/[PAD]/[UNK]/[MASK] when asked.
  std::string type() const override { return "bert"; }
  std::vector<int32_t> encode(std::string_view text, int max_length) const override;
  std::vector<int32_t> encode_target(std::string_view text, int max_length) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const override;
  SpecialTokenIds special_ids() const override;
  int target_vocab_size() const override { return vocab_size(); }
  const std::string& target_vocab_sha256() const override { return vocab_sha256_; }
  std::string settings_json() const override { return settings_.to_json(); }
  // vocab.txt, tokenizer_config.json, tokenizer.json and special_tokens_map.json, those present in
  // the folder it was loaded from (none for a tokenizer built in memory).
  std::vector<std::string> model_files() const override { return model_files_; }
  // A bare vocab.txt (prepare-synthetic's) gets tokenizer_config.json and special_tokens_map.json:
  // without them AutoTokenizer would fall back to its own defaults.
  std::map<std::string, std::string> generated_model_files() const override;

  int vocab_size() const override { return static_cast<int>(vocab_.size()); }
  int32_t pad_id() const { return pad_id_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t unk_id() const { return unk_id_; }
  const TokenizerSettings& settings() const { return settings_; }
  // SHA-256 (hex) of the vocabulary tokens joined with "\n" (no trailing newline): names the
  // vocabulary independently of the file's line endings.
  const std::string& vocab_sha256() const override { return vocab_sha256_; }
  const std::vector<std::string>& vocab() const { return vocab_; }

 private:
  void append_ids(std::string_view text, std::vector<int32_t>& ids) const;
  void append_segment_ids(std::string_view segment, std::size_t base, std::string& normalized,
                          std::vector<int32_t>& ids) const;

  std::vector<std::string> vocab_;
  TokenizerSettings settings_;
  // Immutable after construction, so copies of a tokenizer share them.
  std::shared_ptr<const WordPiece> wordpiece_;
  std::shared_ptr<const BertNormalizer> normalizer_;
  // Special tokens matched in raw text, longest first, and the bytes they can start with.
  std::vector<std::pair<std::string, int32_t>> special_tokens_;
  std::bitset<256> special_first_bytes_;
  int32_t pad_id_ = 0, cls_id_ = 0, sep_id_ = 0, unk_id_ = 0;
  std::vector<bool> is_special_;  // by id: the special tokens decode() skips
  std::string vocab_sha256_;
  std::vector<std::string> model_files_;
};

}  // namespace dtrain::data
