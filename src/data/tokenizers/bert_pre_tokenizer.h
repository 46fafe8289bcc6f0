#pragma once
// The fast tokenizer's BertPreTokenizer: split normalised text on whitespace (dropped) and isolate
// every punctuation character as a word of its own. Header-only so the per-word callback inlines.
#include <array>
#include <cstddef>
#include <string_view>

#include "data/tokenizers/bert_char_classes.h"
#include "data/tokenizers/utf8.h"

namespace dtrain::data {

enum class BertCharKind : unsigned char { kWord, kWhitespace, kPunctuation };

inline BertCharKind classify_bert_char(char32_t code) {
  if (is_rust_whitespace(code)) return BertCharKind::kWhitespace;
  if (is_bert_punctuation(code)) return BertCharKind::kPunctuation;
  return BertCharKind::kWord;
}

// Calls on_word(std::string_view) for every non-empty word of `normalized`, in order.
template <typename OnWord>
void for_each_bert_word(std::string_view normalized, OnWord&& on_word) {
  static const std::array<BertCharKind, 128> ascii_kinds = [] {
    std::array<BertCharKind, 128> kinds{};
    for (char32_t code = 0; code < kinds.size(); ++code) kinds[code] = classify_bert_char(code);
    return kinds;
  }();
  std::size_t word_start = 0;
  std::size_t pos = 0;
  while (pos < normalized.size()) {
    const auto byte = static_cast<unsigned char>(normalized[pos]);
    std::size_t length = 1;
    BertCharKind kind;
    if (byte < 0x80) {
      kind = ascii_kinds[byte];
    } else {
      char32_t code;
      length = decode_utf8(normalized, pos, 0, code);
      kind = classify_bert_char(code);
    }
    if (kind != BertCharKind::kWord) {
      if (pos > word_start) on_word(normalized.substr(word_start, pos - word_start));
      if (kind == BertCharKind::kPunctuation) on_word(normalized.substr(pos, length));
      word_start = pos + length;
    }
    pos += length;
  }
  if (pos > word_start) on_word(normalized.substr(word_start, pos - word_start));
}

}  // namespace dtrain::data
