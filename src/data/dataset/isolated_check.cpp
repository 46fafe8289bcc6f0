#include "data/dataset/isolated_check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>

#include "common/error.h"

namespace dtrain::data {
namespace {

// Owns one end of a pipe.
class Descriptor {
 public:
  explicit Descriptor(int fd = -1) : fd_(fd) {}
  ~Descriptor() { reset(); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

[[noreturn]] void run_child(const std::function<void()>& check, int report_fd) {
  // A crash must end the child with its signal, whatever handlers the parent installed (MPI's
  // backtrace printers, a fuzzer's crash reporter): that is how the parent recognises it.
  for (const int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(signal, SIG_DFL);
  int status = 0;
  std::string message;
  try {
    check();
  } catch (const std::exception& error) {
    message = error.what();
    status = 1;
  } catch (...) {
    message = "unknown error";
    status = 1;
  }
  for (size_t written = 0; written < message.size();) {
    const ssize_t n = ::write(report_fd, message.data() + written, message.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  ::_exit(status);
}

int reap(pid_t child) {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

IsolatedOutcome run_isolated(const std::function<void()>& check, std::chrono::milliseconds timeout) {
  int ends[2];
  DTRAIN_ASSERT(::pipe2(ends, O_CLOEXEC) == 0, "pipe: {}", std::strerror(errno));
  Descriptor read_end(ends[0]), write_end(ends[1]);
  const pid_t child = ::fork();
  DTRAIN_ASSERT(child >= 0, "fork: {}", std::strerror(errno));
  if (child == 0) {
    read_end.reset();
    run_child(check, write_end.get());
  }
  write_end.reset();

  // The child's report ends when it exits and its end of the pipe closes.
  std::string report;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(child, SIGKILL);
      reap(child);
      return {IsolatedOutcome::Kind::timed_out, ""};
    }
    pollfd waiting{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    DTRAIN_ASSERT(ready >= 0, "poll: {}", std::strerror(errno));
    if (ready == 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buffer, static_cast<size_t>(n));
  }
  const int status = reap(child);
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return {IsolatedOutcome::Kind::crashed, fmt::format("signal {}, {}", signal, ::strsignal(signal))};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {IsolatedOutcome::Kind::completed, ""};
  return {IsolatedOutcome::Kind::failed, report.empty() ? "no report" : report};
}

}  // namespace dtrain::data
