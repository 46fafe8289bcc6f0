#pragma once
// Shared by the checkpoint tests: running tests/model/safetensors_tool.py, the independent
// Python implementation of the format, and asserting on dtrain::Error messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "common/error.h"
#include "support/test_support.h"

namespace dtrain::testing {

// Runs safetensors_tool.py with `arguments` on Debian's Python; fails the test if it fails.
inline void run_safetensors_tool(const std::string& arguments) {
  const char* python = std::getenv("DTRAIN_PYTHON");
  auto result = run_command(std::string(python ? python : "/usr/bin/python3") + " " +
                            (source_dir() / "tests/model/safetensors_tool.py").string() + " " + arguments);
  ASSERT_EQ(result.exit_code, 0) << result.output;
}

// Expects `statement` to throw dtrain::Error whose message contains every one of `parts`.
#define EXPECT_DTRAIN_ERROR(statement, ...)                                         \
  try {                                                                             \
    statement;                                                                      \
    ADD_FAILURE() << "expected dtrain::Error from " #statement;                     \
  } catch (const ::dtrain::Error& error) {                                          \
    for (const std::string& part : std::initializer_list<std::string>{__VA_ARGS__}) \
      EXPECT_THAT(error.what(), ::testing::HasSubstr(part));                        \
  }

}  // namespace dtrain::testing
