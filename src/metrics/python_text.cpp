#include "metrics/python_text.h"

#include <utf8proc.h>

#include <algorithm>
#include <iterator>

#include "data/tokenizers/utf8.h"

namespace dtrain::metrics {
namespace {

constexpr char32_t kCapitalSigma = 0x3A3, kSmallSigma = 0x3C3, kFinalSigma = 0x3C2;
constexpr char32_t kCapitalIWithDot = 0x130, kCombiningDotAbove = 0x307;

utf8proc_category_t category_of(char32_t code) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(code));
}

// Unicode's Cased property: letters with case, plus the Other_Lowercase/Other_Uppercase characters
// that have no case mapping and are not case-ignorable anyway (Python checks ignorable first).
bool is_cased(char32_t code) {
  const auto category = category_of(code);
  if (category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LL ||
      category == UTF8PROC_CATEGORY_LT)
    return true;
  const auto c = static_cast<utf8proc_int32_t>(code);
  if (utf8proc_tolower(c) != c || utf8proc_toupper(c) != c || utf8proc_totitle(c) != c) return true;
  return code == 0xAA || code == 0xBA ||          // feminine and masculine ordinal indicators
         (code >= 0x1F130 && code <= 0x1F149) ||  // squared Latin capital letters
         (code >= 0x1F150 && code <= 0x1F169) ||  // negative circled Latin capital letters
         (code >= 0x1F170 && code <= 0x1F189);    // negative squared Latin capital letters
}

// Unicode's Case_Ignorable property: marks, format characters, modifiers, and the apostrophes and
// word-internal punctuation of Word_Break MidLetter, MidNumLet and Single_Quote.
bool is_case_ignorable(char32_t code) {
  static constexpr char32_t kWordInternal[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,
                                               0x5F4,  0x2018, 0x2019, 0x2024, 0x2027, 0xFE13,
                                               0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
  switch (category_of(code)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      return std::binary_search(std::begin(kWordInternal), std::end(kWordInternal), code);
  }
}

// CPython's handle_capital_sigma: final when a cased letter precedes (skipping case-ignorable
// characters) and none follows.
bool is_final_sigma(const std::u32string& text, size_t at) {
  size_t before = at;
  while (before > 0 && is_case_ignorable(text[before - 1])) --before;
  if (before == 0 || !is_cased(text[before - 1])) return false;
  size_t after = at + 1;
  while (after < text.size() && is_case_ignorable(text[after])) ++after;
  return after == text.size() || !is_cased(text[after]);
}

}  // namespace

bool is_python_space(char32_t code) {
  if (code < 0x80) return code == ' ' || (code >= 0x09 && code <= 0x0D) || (code >= 0x1C && code <= 0x1F);
  return code == 0x85 || code == 0xA0 || code == 0x1680 || (code >= 0x2000 && code <= 0x200A) ||
         code == 0x2028 || code == 0x2029 || code == 0x202F || code == 0x205F || code == 0x3000;
}

std::vector<std::string_view> python_split(std::string_view text) {
  std::vector<std::string_view> words;
  size_t start = std::string_view::npos;
  for (size_t pos = 0; pos < text.size();) {
    char32_t code;
    const int length = data::decode_utf8(text, pos, 0, code);
    if (is_python_space(code)) {
      if (start != std::string_view::npos) words.push_back(text.substr(start, pos - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = pos;
    }
    pos += static_cast<size_t>(length);
  }
  if (start != std::string_view::npos) words.push_back(text.substr(start));
  return words;
}

std::string_view python_rstrip(std::string_view text) {
  size_t end = 0;  // just past the last character that is not whitespace
  for (size_t pos = 0; pos < text.size();) {
    char32_t code;
    pos += static_cast<size_t>(data::decode_utf8(text, pos, 0, code));
    if (!is_python_space(code)) end = pos;
  }
  return text.substr(0, end);
}

std::string python_lower(std::string_view text) {
  const std::u32string codes = decode_utf8(text);
  std::string lowered;
  lowered.reserve(text.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    const char32_t code = codes[i];
    if (code == kCapitalIWithDot) {
      lowered.push_back('i');
      data::append_utf8(lowered, kCombiningDotAbove);
    } else if (code == kCapitalSigma) {
      data::append_utf8(lowered, is_final_sigma(codes, i) ? kFinalSigma : kSmallSigma);
    } else {
      data::append_utf8(lowered,
                        static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(code))));
    }
  }
  return lowered;
}

std::u32string decode_utf8(std::string_view text) {
  std::u32string codes;
  codes.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    char32_t code;
    pos += static_cast<size_t>(data::decode_utf8(text, pos, 0, code));
    codes.push_back(code);
  }
  return codes;
}

std::string encode_utf8(std::u32string_view text) {
  std::string bytes;
  bytes.reserve(text.size());
  for (const char32_t code : text) data::append_utf8(bytes, code);
  return bytes;
}

}  // namespace dtrain::metrics
