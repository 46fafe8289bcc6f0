#pragma once
// Asserting on dtrain::Error messages: a test names the parts of the message the user must see.
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
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

// Expects `statement` to throw dtrain::Error whose message contains every one of the given parts.
#define EXPECT_DTRAIN_ERROR(statement, ...)                                                                \
  do {                                                                                                     \
    const std::string message_ = ::dtrain::testing::error_message([&] { static_cast<void>(statement); });  \
    for (const std::string& part_ : std::initializer_list<std::string>{__VA_ARGS__})                       \
      EXPECT_NE(message_.find(part_), std::string::npos) << "expected '" << part_ << "' in: " << message_; \
  } while (0)
