#pragma once
// Learning-rate schedules with the formulas of transformers.optimization (get_scheduler). As with
// the Trainer's LambdaLR, lr(step) is the learning rate of the update made after `step` updates
// already happened: the first update uses lr(0), which is 0 when there is warmup.
#include <cstdint>
#include <optional>
#include <string>

namespace dtrain::train {

enum class ScheduleKind {
  kLinear,
  kCosine,
  kCosineWithRestarts,
  kPolynomial,
  kConstant,
  kConstantWithWarmup,
  kInverseSqrt
};

// Parses a Trainer lr_scheduler_type name ("linear", "cosine", ...).
ScheduleKind parse_schedule_kind(const std::string& name);

// TrainingArguments.get_warmup_steps: warmup_steps >= 1 is a step count (its integer part); in (0, 1)
// it is a fraction of the run, as in transformers 5 (ceil(fraction * total)); 0 falls back to the
// older warmup_ratio, the same way.
std::int64_t resolve_warmup_steps(double warmup_steps, double warmup_ratio, std::int64_t total_steps);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::kLinear;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 0;
  // cosine: number of half-periods x 2 (transformers' default 0.5 = one half cosine);
  // cosine_with_restarts: number of hard restarts (default 1). Unset picks the kind's default.
  std::optional<double> num_cycles;
  double power = 1.0;                     // polynomial
  double lr_end = 1e-7;                   // polynomial
  std::optional<std::int64_t> timescale;  // inverse_sqrt; unset: warmup_steps, or 10000 without warmup
};

class LrSchedule {
 public:
  LrSchedule(ScheduleOptions options, double base_lr);

  // Multiplier of base_lr for the update after `step` completed updates.
  double factor(std::int64_t step) const;
  double lr(std::int64_t step) const { return base_lr_ * factor(step); }

 private:
  double decay_factor(std::int64_t step) const;

  ScheduleOptions options_;
  double base_lr_;
};

}  // namespace dtrain::train
