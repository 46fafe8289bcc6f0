#pragma once
// When a run logs, evaluates and saves: Trainer's DefaultFlowCallback decisions from the
// TrainingArguments strategies and intervals, for a run of total_steps optimizer steps. Torch-free.
//
// At the end of an optimizer step: log when logging_strategy is "steps" and the step is a multiple
// of logging_steps, or it is step 1 and logging_first_step; evaluate ("steps") and save ("steps")
// likewise every eval_steps / save_steps. At the end of an epoch: log, evaluate and save for the
// "epoch" strategies. Intervals below 1 are a fraction of the run, rounded up (at least 1 step).
// Unlike Trainer, a run whose last step is not on an interval does not evaluate or save there (its
// final model is saved anyway).
#include <cstdint>

#include "train/training_arguments.h"

namespace dtrain::train {

// Trainer's "steps" settings below 1 are a fraction of the run: ceil(steps x total_steps), at least 1.
int64_t resolve_interval(double steps, int64_t total_steps);

class TrainingSchedule {
 public:
  // `evaluates`: the run has an evaluation dataset (without one, eval_strategy does nothing).
  TrainingSchedule(const TrainingArguments& args, int64_t total_steps, bool evaluates);

  int64_t logging_interval() const { return logging_interval_; }
  int64_t eval_interval() const { return eval_interval_; }
  int64_t save_interval() const { return save_interval_; }

  // At the end of optimizer step `step` (1-based), which ended an epoch when `epoch_ended`.
  bool logging_due(int64_t step, bool epoch_ended) const;
  bool evaluation_due(int64_t step, bool epoch_ended) const;
  bool save_due(int64_t step, bool epoch_ended) const;

 private:
  enum class Strategy { kNo, kSteps, kEpoch };
  static Strategy parse(const std::string& strategy);
  static bool due(Strategy strategy, int64_t interval, int64_t step, bool epoch_ended);

  Strategy logging_, eval_, save_;
  bool logging_first_step_;
  int64_t logging_interval_, eval_interval_, save_interval_;
};

}  // namespace dtrain::train
