#pragma once
// Marian tokenizer that reproduces transformers' MarianTokenizer (5.x) id for id: SentencePiece
// pieces (source.spm for texts, target.spm for targets) mapped through vocab.json, pieces missing
// from it becoming <unk>, "</s>" appended and no BOS, truncation to max_length - 1 pieces, and its
// decoding. Special and added tokens written in a text are kept whole, and a leading language code
// (">>fr<<") is one token, as in transformers.
#include <bitset>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenizers/sentencepiece.h"
#include "data/tokenizers/tokenizer.h"

namespace dtrain::data {

enum class TextSide { kSource, kTarget };

struct MarianSettings {
  // target_vocab.json gives the target side its own ids (else vocab.json serves both).
  bool separate_vocabs = false;
  std::optional<std::string> source_lang, target_lang;
  std::string unk_token = "<unk>", eos_token = "</s>", pad_token = "<pad>";
  // Texts are not split at special tokens (tokenizer_config.json's split_special_tokens).
  bool split_special_tokens = false;
  // truncation_side "left": truncation keeps the end of a text.
  bool truncate_left = false;
  // Decoding only: tokenizer_config.json's clean_up_tokenization_spaces.
  bool clean_up_tokenization_spaces = false;
};

class MarianTokenizer : public Tokenizer {
 public:
  // Loads a Hugging Face Marian folder: source.spm, target.spm, vocab.json (+ target_vocab.json with
  // separate_vocabs) and tokenizer_config.json / special_tokens_map.json / added_tokens.json when
  // present. Errors name the file and the entry.
  static MarianTokenizer from_folder(const std::filesystem::path& folder);

  // Ids of a text without "</s>" and without truncation (transformers' tokenize + convert_tokens_to_ids).
  // Throws "invalid UTF-8 at byte N" for malformed text.
  std::vector<int32_t> tokenize(std::string_view text, TextSide side) const;
  // SentencePiece pieces of a text (its language code and special tokens included as they are).
  std::vector<std::string> tokenize_to_pieces(std::string_view text, TextSide side) const;

  // Tokenizer.
  std::string type() const override { return "marian"; }
  std::vector<int32_t> encode(std::string_view text, int max_length) const override;
  std::vector<int32_t> encode_target(std::string_view text, int max_length) const override;
  // As transformers 5.x decode(): target ids to text with vocab.json's pieces decoded by source.spm
  // when the vocabulary is shared, by target.spm (and target_vocab.json) when it is separate.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const override;
  SpecialTokenIds special_ids() const override { return special_ids_; }
  int vocab_size() const override { return vocab_size_; }
  int target_vocab_size() const override { return target_vocab_size_; }
  const std::string& vocab_sha256() const override { return source_vocab_.sha256; }
  const std::string& target_vocab_sha256() const override { return target_vocabulary().sha256; }
  std::string settings_json() const override;
  std::vector<std::string> model_files() const override { return model_files_; }

  // The fields of a MarianConfig (config.json) that this vocabulary fixes, as one JSON object:
  // vocab_size, decoder_vocab_size, pad_token_id, decoder_start_token_id (= pad, as opus-mt),
  // eos_token_id, forced_eos_token_id, share_encoder_decoder_embeddings.
  std::string model_config_fields_json() const;

  const MarianSettings& settings() const { return settings_; }
  // Token of an id as transformers' convert_ids_to_tokens (target side); throws for an unknown id.
  const std::string& token(int32_t id) const;

 private:
  struct Vocabulary {
    std::vector<std::string> tokens;  // by id
    std::unordered_map<std::string, int32_t> ids;
    std::string sha256;
  };
  // A special or added token, matched whole in texts.
  struct AddedToken {
    std::string content;
    int32_t id;
  };

  MarianTokenizer(SentencePieceModel source_spm, SentencePieceModel target_spm, Vocabulary source_vocab,
                  std::optional<Vocabulary> target_vocab, MarianSettings settings);
  const Vocabulary& target_vocabulary() const { return target_vocab_ ? *target_vocab_ : source_vocab_; }
  // Derives the matching order, special ids and vocabulary sizes once the added tokens are known.
  void index_tokens();
  int32_t token_id(const std::string& token, TextSide side) const;
  void append_text_ids(std::string_view text, TextSide side, std::vector<int32_t>& ids) const;
  std::vector<int32_t> truncated_with_eos(std::vector<int32_t> ids, int max_length) const;
  template <typename Emit>
  void for_each_token(std::string_view text, TextSide side, Emit&& emit) const;

  SentencePieceModel source_spm_, target_spm_;
  Vocabulary source_vocab_;
  std::optional<Vocabulary> target_vocab_;
  MarianSettings settings_;
  // Added tokens (the special ones included) by content, longest first for matching, and by id.
  std::vector<AddedToken> added_tokens_;
  std::bitset<256> added_first_bytes_;
  std::unordered_map<std::string, int32_t> added_ids_;
  std::unordered_map<int32_t, std::string> added_contents_;
  // transformers' all_special_tokens: the named special tokens and extra_special_tokens.
  std::vector<std::string> special_tokens_;
  std::vector<int32_t> special_token_ids_;
  SpecialTokenIds special_ids_;
  int vocab_size_ = 0, target_vocab_size_ = 0;
  std::vector<std::string> model_files_;

  friend class MarianFolderReader;
};

}  // namespace dtrain::data
