#pragma once
// Trainer's TensorBoardCallback: every number of a log entry becomes a scalar at the entry's step,
// tagged as Trainer tags it (rewrite_logs): "eval_<x>" -> "eval/<x>", "test_<x>" -> "test/<x>", any
// other key -> "train/<key>" (train/loss, train/learning_rate, train/grad_norm, train/epoch,
// train/samples_per_second, eval/loss, eval/accuracy, train/train_runtime, ...). Numbers nested in an
// object (step_seconds) become "train/step_seconds/<name>"; strings are not written.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "train/reporting/event_file_writer.h"
#include "train/reporting/log_reporter.h"

namespace dtrain::train::reporting {

// (tag, value) of every scalar in `entry`, its "step" aside.
std::vector<std::pair<std::string, float>> tensorboard_scalars(const nlohmann::json& entry);

class TensorBoardReporter : public LogReporter {
 public:
  // A new event file in `logging_dir`. A resumed run passes the step it resumed at, so that TensorBoard
  // drops what an interrupted run logged after its checkpoint.
  TensorBoardReporter(const std::filesystem::path& logging_dir, std::optional<int64_t> resumed_at_step);
  void report(const nlohmann::json& entry) override;
  const std::filesystem::path& event_file() const { return writer_.path(); }

 private:
  EventFileWriter writer_;
};

}  // namespace dtrain::train::reporting
