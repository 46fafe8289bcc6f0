#pragma once
// WordPiece as the fast tokenizer runs it: greedy longest-match-first from the start of a word,
// continuation pieces looked up with the "##" prefix, and the whole word becomes the unknown token
// when it is longer than max_input_chars_per_word characters or any piece is missing.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dtrain::data {

class WordPiece {
 public:
  WordPiece(const std::vector<std::string>& vocab, const std::string& continuing_subword_prefix,
            std::string_view unk_token, int max_input_chars_per_word);
  // The lookup tables point into this object's own copy of the vocabulary.
  WordPiece(const WordPiece&) = delete;
  WordPiece& operator=(const WordPiece&) = delete;

  std::optional<int32_t> find(std::string_view token) const;

  // Appends the ids of one pre-tokenised word to `ids`.
  void tokenize_word(std::string_view word, std::vector<int32_t>& ids) const;

 private:
  using TokenIds = std::unordered_map<std::string_view, int32_t>;

  std::vector<std::string> tokens_;
  TokenIds word_start_ids_;    // every token, as written in the vocabulary
  TokenIds continuation_ids_;  // tokens that start with the prefix, keyed without it
  // No piece longer than this can be in the vocabulary, so longer candidates are never looked up.
  std::size_t longest_piece_ = 0;
  int32_t unk_id_ = 0;
  std::size_t max_input_chars_per_word_;
};

}  // namespace dtrain::data
