#pragma once
// The best model and early stopping, with Trainer's rules. Torch-free.
//
// Each evaluation's metric_for_best_model (default "loss"; the "eval_" prefix is added) is compared
// with the best so far, higher being better when greater_is_better (default: false for names
// ending in "loss", true otherwise). First EarlyStoppingCallback's counter: an evaluation that does
// not beat the best so far by more than early_stopping_threshold increments it, one that does (or
// the first) resets it; training stops once it reaches early_stopping_patience. Then, as Trainer's
// _determine_best_metric, a strictly better value becomes best_metric, and the checkpoint of that
// step best_model_checkpoint.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "train/trainer_state.h"
#include "train/training_arguments.h"

namespace dtrain::train {

class BestModelPolicy {
 public:
  explicit BestModelPolicy(const TrainingArguments& args);

  // Whether evaluations are compared at all (load_best_model_at_end, metric_for_best_model or
  // early_stopping_patience is set).
  bool enabled() const { return enabled_; }
  const std::string& metric_name() const { return metric_name_; }

  // Records the evaluation `metrics` of the step whose checkpoint is `checkpoint` into `state`
  // (counter, best_metric, best_model_checkpoint). Returns whether training should stop early.
  // Throws dtrain::Error when the metrics lack metric_for_best_model.
  bool record(const nlohmann::json& metrics, const std::string& checkpoint, TrainerState& state) const;

 private:
  bool enabled_;
  std::string metric_name_;
  bool greater_is_better_;
  std::optional<int64_t> patience_;
  double threshold_;
};

}  // namespace dtrain::train
