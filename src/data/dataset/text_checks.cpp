#include "data/dataset/text_checks.h"

#include <utf8proc.h>

namespace dtrain::data {

int64_t invalid_utf8_offset(const std::string& text) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  for (utf8proc_ssize_t at = 0; at < size;) {
    utf8proc_int32_t codepoint = 0;
    const utf8proc_ssize_t length = utf8proc_iterate(bytes + at, size - at, &codepoint);
    if (length <= 0) return at;
    at += length;
  }
  return -1;
}

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace dtrain::data
