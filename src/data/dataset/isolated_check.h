#pragma once
// Runs a check in a child process (fork), so that a crash or an endless loop inside a library that
// trusts its input (libhdf5 reading a damaged file without checksums) costs a child, not the
// caller: the outcome comes back as a value the caller turns into a clear error.
#include <chrono>
#include <functional>
#include <string>

namespace dtrain::data {

struct IsolatedOutcome {
  enum class Kind { completed, failed, crashed, timed_out };
  Kind kind = Kind::completed;
  std::string error;  // failed: the check's exception message; crashed: the signal's description
};

// Runs `check` in a forked child and waits at most `timeout` for it. The child only runs `check`
// and exits (no atexit handlers, no stdio flushing), so it must not need other threads of the
// parent (a lock another thread held at the fork stays held in the child).
IsolatedOutcome run_isolated(const std::function<void()>& check, std::chrono::milliseconds timeout);

}  // namespace dtrain::data
