#pragma once
// One exception type for every error dtrain reports to a user. Messages carry context: for bad
// input "file:row: what is wrong"; for failed library/system calls the source file:line and a hint.
// main() catches dtrain::Error once, prints it on one line and exits non-zero (aborting all ranks).
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace dtrain {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Prefixes a message with the source location of the failing check.
std::string at_source(const char* file, int line, const std::string& message);

}  // namespace dtrain

// Throws dtrain::Error with a fmt-formatted message (user-facing: no source location).
#define DTRAIN_FAIL(...) throw ::dtrain::Error(fmt::format(__VA_ARGS__))

// Checks a condition that depends on user input; the message is what the user reads.
#define DTRAIN_CHECK(condition, ...)            \
  do {                                          \
    if (!(condition)) DTRAIN_FAIL(__VA_ARGS__); \
  } while (0)

// Checks an internal invariant or a library/system call; the message gains file:line.
#define DTRAIN_ASSERT(condition, ...)                                                           \
  do {                                                                                          \
    if (!(condition))                                                                           \
      throw ::dtrain::Error(::dtrain::at_source(__FILE__, __LINE__, fmt::format(__VA_ARGS__))); \
  } while (0)
