#pragma once
// Asserting on dtrain::Error messages: a test names the substring the user must see.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "common/error.h"

namespace dtrain::testing {

// The message of the dtrain::Error thrown by `action`, or "<no error>".
inline std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const dtrain::Error& error) {
    return error.what();
  }
  return "<no error>";
}

}  // namespace dtrain::testing

#define EXPECT_ERROR_CONTAINS(statement, expected)                                     \
  do {                                                                                 \
    const std::string message_ = ::dtrain::testing::error_message([&] { static_cast<void>(statement); }); \
    EXPECT_NE(message_.find(expected), std::string::npos) << "message: " << message_;  \
  } while (0)
