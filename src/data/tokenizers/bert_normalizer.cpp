#include "data/tokenizers/bert_normalizer.h"

#include <utf8proc.h>

#include "data/tokenizers/bert_char_classes.h"
#include "data/tokenizers/utf8.h"

namespace dtrain::data {

BertNormalizer::BertNormalizer(const TokenizerSettings& settings)
    : clean_text_(settings.clean_text),
      handle_chinese_chars_(settings.tokenize_chinese_chars),
      strip_accents_(settings.strip_accents.value_or(settings.lowercase)),
      lowercase_(settings.lowercase) {
  for (char32_t code = 0; code < ascii_output_.size(); ++code) {
    std::string output;
    append_normalized(code, output);
    DTRAIN_ASSERT(output.size() <= 1, "ASCII character {} normalises to '{}'", static_cast<int>(code),
                  output);
    ascii_output_[code] = output.empty() ? kDropped : output[0];
  }
}

void BertNormalizer::normalize(std::string_view text, std::size_t base, std::string& out) const {
  out.reserve(out.size() + text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte < 0x80) {
      if (ascii_output_[byte] != kDropped) out.push_back(static_cast<char>(ascii_output_[byte]));
      ++pos;
      continue;
    }
    char32_t code;
    pos += decode_utf8(text, pos, base, code);
    append_normalized(code, out);
  }
}

void BertNormalizer::append_normalized(char32_t code, std::string& out) const {
  if (clean_text_) {
    if (code == 0 || code == 0xFFFD || is_bert_control(code)) return;
    if (is_rust_whitespace(code)) {
      out.push_back(' ');
      return;
    }
  }
  const bool chinese = handle_chinese_chars_ && is_chinese_char(code);
  if (chinese) out.push_back(' ');
  if (strip_accents_) {
    // A canonical decomposition is at most 4 code points (Hangul: 3). U+11938 is the one character
    // whose decomposition (Unicode 13) the reference's NFD tables lack.
    utf8proc_int32_t decomposed[8] = {static_cast<utf8proc_int32_t>(code)};
    const auto count = code == 0x11938 ? 1
                                       : utf8proc_decompose_char(static_cast<utf8proc_int32_t>(code),
                                                                 decomposed, 8, UTF8PROC_DECOMPOSE, nullptr);
    DTRAIN_ASSERT(count > 0 && count <= 8, "utf8proc_decompose_char(U+{:04X}) returned {}",
                  static_cast<unsigned>(code), count);
    for (utf8proc_ssize_t i = 0; i < count; ++i) {
      if (!is_bert_nonspacing_mark(static_cast<char32_t>(decomposed[i]))) {
        append_lowercased(static_cast<char32_t>(decomposed[i]), out);
      }
    }
  } else {
    append_lowercased(code, out);
  }
  if (chinese) out.push_back(' ');
}

void BertNormalizer::append_lowercased(char32_t code, std::string& out) const {
  if (!lowercase_) {
    append_utf8(out, code);
  } else if (code == 0x130) {
    // Rust's char::to_lowercase applies SpecialCasing: 'İ' becomes "i̇" (two code points), where
    // utf8proc's simple mapping gives 'i'. Only reachable without accent stripping.
    append_utf8(out, 'i');
    append_utf8(out, 0x307);
  } else {
    append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(code))));
  }
}

}  // namespace dtrain::data
