#include "common/error.h"

#include <cstring>

namespace dtrain {

std::string at_source(const char* file, int line, const std::string& message) {
  // Keep paths short: report from "src/" on rather than the build machine's absolute path.
  const char* short_file = std::strstr(file, "src/");
  return fmt::format("{}:{}: {}", short_file ? short_file : file, line, message);
}

}  // namespace dtrain
