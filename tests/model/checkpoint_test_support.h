#pragma once
// Shared by the checkpoint tests: running tests/model/safetensors_tool.py, the independent
// Python implementation of the format, and tests/model/pytorch_checkpoint_tool.py, which writes
// checkpoints with torch, transformers and huggingface_hub.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::testing {

// Runs safetensors_tool.py with `arguments` on dtrain's Python; fails the test if it fails.
inline void run_safetensors_tool(const std::string& arguments) {
  auto result = run_command(python() + " " + (source_dir() / "tests/model/safetensors_tool.py").string() +
                            " " + arguments);
  ASSERT_EQ(result.exit_code, 0) << result.output;
}

// Runs pytorch_checkpoint_tool.py with `arguments` (offline); fails the test if it fails.
inline void run_pytorch_checkpoint_tool(const std::string& arguments) {
  auto result =
      run_command("HF_HUB_OFFLINE=1 " + python() + " " +
                  (source_dir() / "tests/model/pytorch_checkpoint_tool.py").string() + " " + arguments);
  ASSERT_EQ(result.exit_code, 0) << result.output;
}

}  // namespace dtrain::testing
