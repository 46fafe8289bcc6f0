#pragma once
// Strict UTF-8 decoding and encoding for the text pipeline. Rejects everything Rust's `str` rejects
// (overlong forms, surrogates, code points above U+10FFFF, truncated sequences), so the tokenizer
// sees exactly the characters the Hugging Face reference sees.
#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.h"

namespace dtrain::data {

// Decodes the character that starts at byte `pos` of `text` into
// `code` and returns its length in bytes. `base` is added to `pos` in the error message so callers
// working on a slice report the offset in the original text.
inline int decode_utf8(std::string_view text, std::size_t pos, std::size_t base, char32_t& code) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) {
    code = lead;
    return 1;
  }
  int length = 0;
  char32_t min_code = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, code = lead & 0x1F, min_code = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, code = lead & 0x0F, min_code = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, code = lead & 0x07, min_code = 0x10000;
  }
  bool valid = length > 0 && pos + length <= text.size();
  for (int i = 1; valid && i < length; ++i) {
    const unsigned char next = byte(pos + i);
    valid = (next & 0xC0) == 0x80;
    code = (code << 6) | (next & 0x3F);
  }
  valid = valid && code >= min_code && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
  if (!valid) DTRAIN_FAIL("invalid UTF-8 at byte {}", base + pos);
  return length;
}

inline void append_utf8(std::string& out, char32_t code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

}  // namespace dtrain::data
