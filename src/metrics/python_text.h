#pragma once
// The few Python str operations sacreBLEU's scores depend on, on UTF-8 text: what str.split() and
// str.rstrip() treat as whitespace, and str.lower() (full Unicode lower-casing, Final_Sigma
// included). Tokens, lengths and character n-grams then come out exactly as in Python.
#include <string>
#include <string_view>
#include <vector>

namespace dtrain::metrics {

// Whether str.isspace() holds for the code point (what split() and rstrip() remove).
bool is_python_space(char32_t code);

// str.split() with no arguments: the runs of non-whitespace, as views into `text`.
std::vector<std::string_view> python_split(std::string_view text);

// str.rstrip() with no arguments.
std::string_view python_rstrip(std::string_view text);

// str.lower(): Unicode's lowercase mapping, with U+0130 becoming "i" + U+0307 and capital sigma
// becoming final sigma at the end of a word.
std::string python_lower(std::string_view text);

// The code points of valid UTF-8; throws dtrain::Error naming the byte offset otherwise.
std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view text);

}  // namespace dtrain::metrics
