#pragma once
// Checks on the texts of input rows that every `dtrain prepare` task applies before tokenizing.
#include <cstdint>
#include <string>

namespace dtrain::data {

// Byte offset of the first invalid UTF-8 sequence, or -1.
int64_t invalid_utf8_offset(const std::string& text);

// Whether the text holds nothing but spaces, tabs and line breaks.
bool is_blank(const std::string& text);

}  // namespace dtrain::data
