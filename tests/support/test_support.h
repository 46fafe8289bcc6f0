#pragma once
// Helpers shared by the test binaries: locating ../shared/data and scratch folders.
#include <filesystem>
#include <optional>
#include <string>

namespace dtrain::testing {

// ../shared/data, or nullopt when absent (tests then GTEST_SKIP with a message).
std::optional<std::filesystem::path> shared_data();

// Whether this is a CI run (CI=true), where a missing reference is a failure rather than a skip.
bool in_ci();

// Ends the calling test for want of a reference (data, a Python package): skipped with `message` on
// a user's machine, failed under CI=true so that CI never passes without running it.
#define DTRAIN_MISSING_REFERENCE(message)                                         \
  do {                                                                            \
    if (::dtrain::testing::in_ci())                                               \
      GTEST_FAIL() << message << " (CI=true: a missing reference fails the run)"; \
    else                                                                          \
      GTEST_SKIP() << message << "; skipped";                                     \
  } while (0)

// Skips (fails in CI) the calling test with a clear message when ../shared/data is missing.
#define DTRAIN_REQUIRE_SHARED_DATA(var)                                                          \
  auto var##_opt = ::dtrain::testing::shared_data();                                             \
  if (!var##_opt) DTRAIN_MISSING_REFERENCE("../shared/data not found (set DTRAIN_SHARED_DATA)"); \
  const std::filesystem::path var = *var##_opt

// The Python of dtrain's environment (DTRAIN_PYTHON, set by CTest), which has torch, transformers,
// tokenizers, sentencepiece, sacrebleu and the rest of launch/requirements.txt; empty when unset.
std::string python();

// Skips (fails in CI) the calling test when DTRAIN_PYTHON is unset or lacks one of `modules`
// (space-separated Python module names).
#define DTRAIN_REQUIRE_PYTHON(modules)                                                     \
  do {                                                                                     \
    const std::string missing_ = ::dtrain::testing::missing_python_modules(modules);       \
    if (!missing_.empty()) DTRAIN_MISSING_REFERENCE(missing_ << " (run launch/setup.sh)"); \
  } while (0)
// Empty when python() imports every module of `modules`; otherwise what is missing.
std::string missing_python_modules(const std::string& modules);

// A fresh, empty folder under the system temp dir, removed when the object dies.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag = "dtrain-test");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes text to a file (creating parent folders).
void write_file(const std::filesystem::path& path, const std::string& text);

// Path of the built dtrain executable and the source tree (set by CTest's environment).
std::filesystem::path dtrain_binary();
std::filesystem::path source_dir();

// "mpirun -np N --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 <dtrain>": the built dtrain on
// `ranks` ranks of this machine, one thread each (CTest's DTRAIN_MPIEXEC names the launcher).
std::string mpirun_dtrain(int ranks);

// Runs a shell command, returns its exit status and combined stdout+stderr.
struct CommandResult {
  int exit_code;
  std::string output;
};
CommandResult run_command(const std::string& command);

}  // namespace dtrain::testing
