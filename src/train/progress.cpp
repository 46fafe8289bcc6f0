#include "train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace dtrain::train {
namespace {

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(std::max(0.0, seconds));
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{:02}:{:02}", total / 60, total % 60);
}

}  // namespace

ProgressReporter::ProgressReporter(int64_t total_steps, bool enabled)
    : total_steps_(std::max<int64_t>(total_steps, 1)),
      enabled_(enabled),
      terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

ProgressReporter::~ProgressReporter() {
  finish_line();
}

void ProgressReporter::update(int64_t step, double loss, double learning_rate, double samples_per_second) {
  if (!enabled_) return;
  // The ETA is measured from the first update, so a resumed run does not count skipped steps.
  if (first_step_ < 0) {
    first_step_ = step - 1;
    start_ = std::chrono::steady_clock::now();
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done_here = step - first_step_;
  const double eta =
      done_here > 0 ? elapsed / static_cast<double>(done_here) * static_cast<double>(total_steps_ - step) : 0;
  const std::string stats =
      fmt::format("loss {:.4f}  lr {:.3e}  {:.1f} samples/s  elapsed {}  ETA {}", loss, learning_rate,
                  samples_per_second, format_duration(elapsed), format_duration(eta));
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * step / total_steps_);
    std::fprintf(stderr, "\r%6lld/%lld [%s%s] %s\x1b[K", static_cast<long long>(step),
                 static_cast<long long>(total_steps_), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), stats.c_str());
    line_open_ = true;
    if (step >= total_steps_) finish_line();
  } else {
    const int64_t every = std::max<int64_t>(1, total_steps_ / 20);
    if (step % every == 0 || step == total_steps_ || step == first_step_ + 1) {
      std::fprintf(stderr, "step %lld/%lld  %s\n", static_cast<long long>(step),
                   static_cast<long long>(total_steps_), stats.c_str());
    }
  }
  std::fflush(stderr);
}

void ProgressReporter::finish_line() {
  if (line_open_) std::fputc('\n', stderr);
  line_open_ = false;
}

}  // namespace dtrain::train
