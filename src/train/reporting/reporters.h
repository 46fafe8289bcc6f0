#pragma once
// The reporters a run's configuration asks for, built on rank 0 when the trainer opens its log:
// TensorBoard event files when report_to names tensorboard (or all), and always the results files
// (train_results.json, all_results.json) as Hugging Face's example scripts write them.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "train/reporting/log_reporter.h"
#include "train/training_arguments.h"

namespace dtrain::train::reporting {

std::vector<std::unique_ptr<LogReporter>> make_reporters(const TrainingArguments& args, int64_t train_samples,
                                                         std::optional<int64_t> resumed_at_step);

// logging_dir; unset: $TENSORBOARD_LOGGING_DIR (transformers 5), else Trainer's default
// output_dir/runs/<Mon>DD_HH-MM-SS_<host> (a new folder, hence a new TensorBoard run, per start).
std::filesystem::path resolve_logging_dir(const TrainingArguments& args);

}  // namespace dtrain::train::reporting
