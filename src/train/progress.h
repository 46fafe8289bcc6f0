#pragma once
// Training progress on the main process: a redrawn bar (step/total, loss, lr, samples/s, ETA) when
// stderr is a terminal; otherwise a plain line every 5% of the run, so batch logs stay readable.
#include <chrono>
#include <cstdint>

namespace dtrain::train {

class ProgressReporter {
 public:
  ProgressReporter(int64_t total_steps, bool enabled);
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;
  ~ProgressReporter();

  void update(int64_t step, double loss, double learning_rate, double samples_per_second);

 private:
  void finish_line();

  int64_t total_steps_;
  bool enabled_;
  bool terminal_;
  bool line_open_ = false;
  int64_t first_step_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace dtrain::train
