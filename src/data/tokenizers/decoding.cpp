#include "data/tokenizers/decoding.h"

#include <utility>

#include "data/tokenizers/utf8.h"

namespace dtrain::data {
namespace {

// The code points for which Python's str.isspace() is true (bidirectional class WS, B or S, or
// category Zs).
bool is_python_space(char32_t code) {
  return (code >= 0x09 && code <= 0x0D) || (code >= 0x1C && code <= 0x20) || code == 0x85 || code == 0xA0 ||
         code == 0x1680 || (code >= 0x2000 && code <= 0x200A) || code == 0x2028 || code == 0x2029 ||
         code == 0x202F || code == 0x205F || code == 0x3000;
}

}  // namespace

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  if (from.empty()) return text;
  std::string result;
  std::size_t start = 0;
  for (std::size_t found; (found = text.find(from, start)) != std::string::npos;
       start = found + from.size()) {
    result.append(text, start, found - start).append(to);
  }
  if (start == 0) return text;
  result.append(text, start, std::string::npos);
  return result;
}

std::string clean_up_tokenization(std::string text) {
  for (const auto& [from, to] : {std::pair<const char*, const char*>{" .", "."},
                                 {" ?", "?"},
                                 {" !", "!"},
                                 {" ,", ","},
                                 {" ' ", "'"},
                                 {" n't", "n't"},
                                 {" 'm", "'m"},
                                 {" 's", "'s"},
                                 {" 've", "'ve"},
                                 {" 're", "'re"}}) {
    text = replace_all(std::move(text), from, to);
  }
  return text;
}

std::string strip_python_whitespace(std::string_view text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    char32_t code;
    const int length = decode_utf8(text, begin, 0, code);
    if (!is_python_space(code)) break;
    begin += length;
  }
  std::size_t end = text.size();
  while (end > begin) {
    std::size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    char32_t code;
    decode_utf8(text, start, 0, code);
    if (!is_python_space(code)) break;
    end = start;
  }
  return std::string(text.substr(begin, end - begin));
}

}  // namespace dtrain::data
