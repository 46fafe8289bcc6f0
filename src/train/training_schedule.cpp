#include "train/training_schedule.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace dtrain::train {

int64_t resolve_interval(double steps, int64_t total_steps) {
  return steps < 1 ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(steps * total_steps)))
                   : static_cast<int64_t>(steps);
}

TrainingSchedule::TrainingSchedule(const TrainingArguments& args, int64_t total_steps, bool evaluates)
    : logging_(parse(args.logging_strategy)),
      eval_(evaluates ? parse(args.eval_strategy) : Strategy::kNo),
      save_(parse(args.save_strategy)),
      logging_first_step_(args.logging_first_step),
      logging_interval_(resolve_interval(args.logging_steps, total_steps)),
      eval_interval_(resolve_interval(args.eval_steps.value_or(args.logging_steps), total_steps)),
      save_interval_(resolve_interval(args.save_steps, total_steps)) {}

TrainingSchedule::Strategy TrainingSchedule::parse(const std::string& strategy) {
  if (strategy == "steps") return Strategy::kSteps;
  if (strategy == "epoch") return Strategy::kEpoch;
  DTRAIN_ASSERT(strategy == "no", "unknown interval strategy '{}' (validated by TrainingArguments)",
                strategy);
  return Strategy::kNo;
}

bool TrainingSchedule::due(Strategy strategy, int64_t interval, int64_t step, bool epoch_ended) {
  return (strategy == Strategy::kSteps && step % interval == 0) ||
         (strategy == Strategy::kEpoch && epoch_ended);
}

bool TrainingSchedule::logging_due(int64_t step, bool epoch_ended) const {
  return (logging_first_step_ && step == 1) || due(logging_, logging_interval_, step, epoch_ended);
}

bool TrainingSchedule::evaluation_due(int64_t step, bool epoch_ended) const {
  return due(eval_, eval_interval_, step, epoch_ended);
}

bool TrainingSchedule::save_due(int64_t step, bool epoch_ended) const {
  return due(save_, save_interval_, step, epoch_ended);
}

}  // namespace dtrain::train
