#pragma once
// Where a training step's time goes (data, forward, backward, communication wait, optimizer),
// accumulated over a logging window and reported as seconds per step.
#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace dtrain::train {

enum class Phase { kData, kForward, kBackward, kCommWait, kOptimizer, kCount };

class StepTimer {
 public:
  // Adds the time since the previous call (or since reset) to `phase`.
  void lap(Phase phase) {
    const auto now = std::chrono::steady_clock::now();
    seconds_[static_cast<size_t>(phase)] += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }
  void add(Phase phase, double seconds) { seconds_[static_cast<size_t>(phase)] += seconds; }
  // Starts a new lap without charging the time since the last one to any phase.
  void restart() { last_ = std::chrono::steady_clock::now(); }

  // {"data": s, "forward": s, ...}: mean seconds per step over `steps` steps; then clears.
  nlohmann::json take_means(int64_t steps) {
    static constexpr std::array<const char*, 5> kNames{"data", "forward", "backward", "comm_wait",
                                                       "optimizer"};
    nlohmann::json means;
    for (size_t i = 0; i < kNames.size(); ++i) {
      means[kNames[i]] = steps > 0 ? seconds_[i] / static_cast<double>(steps) : 0.0;
      seconds_[i] = 0;
    }
    return means;
  }

 private:
  std::array<double, static_cast<size_t>(Phase::kCount)> seconds_{};
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace dtrain::train
