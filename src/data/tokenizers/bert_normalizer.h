#pragma once
// The fast tokenizer's BertNormalizer: clean_text (drop control characters, map whitespace to ' '),
// spaces around CJK ideographs, accent stripping (NFD, then drop nonspacing marks) and lower-casing,
// applied in that order, character by character.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "data/tokenizers/bert_tokenizer.h"

namespace dtrain::data {

class BertNormalizer {
 public:
  explicit BertNormalizer(const TokenizerSettings& settings);

  // Appends the normalised `text` to `out`. `base` is the offset of `text` in the caller's input,
  // used in "invalid UTF-8 at byte N" (N counts from 0).
  void normalize(std::string_view text, std::size_t base, std::string& out) const;

 private:
  void append_normalized(char32_t code, std::string& out) const;
  void append_lowercased(char32_t code, std::string& out) const;

  bool clean_text_;
  bool handle_chinese_chars_;
  bool strip_accents_;
  bool lowercase_;
  // Every ASCII character maps to at most one character; precomputed so ASCII text never reaches
  // the Unicode tables. kDropped marks characters that clean_text removes.
  static constexpr int kDropped = -1;
  std::array<int, 128> ascii_output_{};
};

}  // namespace dtrain::data
