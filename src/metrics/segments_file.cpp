#include "metrics/segments_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "metrics/python_text.h"

namespace dtrain::metrics {

std::vector<std::string> read_segments(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  DTRAIN_CHECK(file.is_open(), "{}: cannot open: {}", path.string(), std::strerror(errno));
  std::ostringstream buffer;
  buffer << file.rdbuf();
  DTRAIN_CHECK(!file.bad(), "{}: read failed", path.string());
  const std::string text = buffer.str();

  std::vector<std::string> segments;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    try {
      segments.emplace_back(python_rstrip(line));
    } catch (const Error& e) {
      DTRAIN_FAIL("{}:{}: {}", path.string(), segments.size() + 1, e.what());
    }
    start = end + 1;
  }
  return segments;
}

}  // namespace dtrain::metrics
