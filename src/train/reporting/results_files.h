#pragma once
// The results files of Hugging Face's example scripts (run_glue.py, run_translation.py):
// train_results.json after training, eval_results.json after the final evaluation, and
// all_results.json holding both.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "train/reporting/log_reporter.h"

namespace dtrain::train::reporting {

// Trainer.save_metrics: `metrics` to output_dir/<split>_results.json, then merged over the
// all_results.json already there (same keys replaced), both as json.dump(indent=4, sort_keys=True)
// writes them. Each file is replaced atomically.
void save_metrics(const std::filesystem::path& output_dir, const std::string& split,
                  const nlohmann::json& metrics);

// Saves the end-of-training entry (the one with train_runtime: train_loss, train_samples_per_second,
// train_steps_per_second, epoch, ...) as "train" metrics, with train_samples as run_glue.py adds it.
class TrainResultsReporter : public LogReporter {
 public:
  TrainResultsReporter(std::filesystem::path output_dir, int64_t train_samples);
  void report(const nlohmann::json& entry) override;

 private:
  std::filesystem::path output_dir_;
  int64_t train_samples_;
};

}  // namespace dtrain::train::reporting
