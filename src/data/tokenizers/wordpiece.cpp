#include "data/tokenizers/wordpiece.h"

#include <algorithm>

#include "common/error.h"

namespace dtrain::data {
namespace {

bool is_utf8_continuation(char byte) {
  return (static_cast<unsigned char>(byte) & 0xC0) == 0x80;
}

std::size_t count_chars(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char byte) { return !is_utf8_continuation(byte); }));
}

}  // namespace

WordPiece::WordPiece(const std::vector<std::string>& vocab, const std::string& continuing_subword_prefix,
                     std::string_view unk_token, int max_input_chars_per_word)
    : tokens_(vocab),
      max_input_chars_per_word_(static_cast<std::size_t>(std::max(max_input_chars_per_word, 0))) {
  DTRAIN_CHECK(!continuing_subword_prefix.empty(), "the WordPiece continuing_subword_prefix is empty");
  word_start_ids_.reserve(tokens_.size());
  for (std::size_t id = 0; id < tokens_.size(); ++id) {
    const std::string_view token = tokens_[id];
    // Like the reference's hash map, a token listed twice keeps its last id.
    word_start_ids_.insert_or_assign(token, static_cast<int32_t>(id));
    longest_piece_ = std::max(longest_piece_, token.size());
    if (token.size() > continuing_subword_prefix.size() &&
        token.substr(0, continuing_subword_prefix.size()) == continuing_subword_prefix) {
      continuation_ids_.insert_or_assign(token.substr(continuing_subword_prefix.size()),
                                         static_cast<int32_t>(id));
    }
  }
  const auto unk = find(unk_token);
  DTRAIN_CHECK(unk.has_value(), "the unknown token '{}' is not in the vocabulary", unk_token);
  unk_id_ = *unk;
}

std::optional<int32_t> WordPiece::find(std::string_view token) const {
  const auto found = word_start_ids_.find(token);
  if (found == word_start_ids_.end()) return std::nullopt;
  return found->second;
}

void WordPiece::tokenize_word(std::string_view word, std::vector<int32_t>& ids) const {
  if (count_chars(word) > max_input_chars_per_word_) {
    ids.push_back(unk_id_);
    return;
  }
  const std::size_t first_piece = ids.size();
  for (std::size_t start = 0; start < word.size();) {
    const TokenIds& pieces = start == 0 ? word_start_ids_ : continuation_ids_;
    std::size_t end = std::min(word.size(), start + longest_piece_);
    while (end < word.size() && is_utf8_continuation(word[end])) --end;
    bool matched = false;
    while (end > start) {
      const auto found = pieces.find(word.substr(start, end - start));
      if (found != pieces.end()) {
        ids.push_back(found->second);
        matched = true;
        break;
      }
      do --end;
      while (end > start && is_utf8_continuation(word[end]));
    }
    if (!matched) {
      ids.resize(first_piece);
      ids.push_back(unk_id_);
      return;
    }
    start = end;
  }
}

}  // namespace dtrain::data
