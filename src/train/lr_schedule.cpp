#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/error.h"

namespace dtrain::train {
namespace {

constexpr std::pair<const char*, ScheduleKind> kScheduleNames[] = {
    {"linear", ScheduleKind::kLinear},
    {"cosine", ScheduleKind::kCosine},
    {"cosine_with_restarts", ScheduleKind::kCosineWithRestarts},
    {"polynomial", ScheduleKind::kPolynomial},
    {"constant", ScheduleKind::kConstant},
    {"constant_with_warmup", ScheduleKind::kConstantWithWarmup},
    {"inverse_sqrt", ScheduleKind::kInverseSqrt},
};

constexpr double kPi = 3.14159265358979323846;

}  // namespace

ScheduleKind parse_schedule_kind(const std::string& name) {
  std::string known;
  for (const auto& [candidate, kind] : kScheduleNames) {
    if (name == candidate) return kind;
    known += known.empty() ? candidate : std::string(", ") + candidate;
  }
  DTRAIN_FAIL("lr_scheduler_type '{}' is not one of: {}", name, known);
}

std::int64_t resolve_warmup_steps(double warmup_steps, double warmup_ratio, std::int64_t total_steps) {
  DTRAIN_CHECK(warmup_steps >= 0, "warmup_steps must not be negative, got {}", warmup_steps);
  DTRAIN_CHECK(warmup_ratio >= 0 && warmup_ratio <= 1, "warmup_ratio must be in [0, 1], got {}",
               warmup_ratio);
  if (warmup_steps >= 1) return static_cast<std::int64_t>(warmup_steps);
  const double fraction = warmup_steps > 0 ? warmup_steps : warmup_ratio;
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(total_steps) * fraction));
}

LrSchedule::LrSchedule(ScheduleOptions options, double base_lr) : options_(options), base_lr_(base_lr) {
  if (options_.kind == ScheduleKind::kPolynomial) {
    DTRAIN_CHECK(base_lr > options_.lr_end,
                 "polynomial schedule: lr_end ({}) must be smaller than the learning rate ({})",
                 options_.lr_end, base_lr);
  }
  if (options_.kind == ScheduleKind::kInverseSqrt && !options_.timescale) {
    options_.timescale = options_.warmup_steps > 0 ? options_.warmup_steps : 10000;
  }
}

double LrSchedule::factor(std::int64_t step) const {
  const bool has_warmup = options_.kind != ScheduleKind::kConstant;
  if (has_warmup && step < options_.warmup_steps) {
    return static_cast<double>(step) / static_cast<double>(std::max<std::int64_t>(1, options_.warmup_steps));
  }
  return decay_factor(step);
}

double LrSchedule::decay_factor(std::int64_t step) const {
  const std::int64_t warmup = options_.warmup_steps;
  const std::int64_t total = options_.total_steps;
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<std::int64_t>(1, total - warmup));
  switch (options_.kind) {
    case ScheduleKind::kConstant:
    case ScheduleKind::kConstantWithWarmup:
      return 1.0;
    case ScheduleKind::kLinear:
      return std::max(0.0, static_cast<double>(total - step) /
                               static_cast<double>(std::max<std::int64_t>(1, total - warmup)));
    case ScheduleKind::kCosine:
      return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * options_.num_cycles.value_or(0.5) * 2.0 * progress)));
    case ScheduleKind::kCosineWithRestarts:
      if (progress >= 1.0) return 0.0;
      return std::max(
          0.0, 0.5 * (1.0 + std::cos(kPi * std::fmod(options_.num_cycles.value_or(1.0) * progress, 1.0))));
    case ScheduleKind::kPolynomial: {
      if (step > total) return options_.lr_end / base_lr_;
      const double lr_range = base_lr_ - options_.lr_end;
      const double remaining = 1.0 - progress;
      return (lr_range * std::pow(remaining, options_.power) + options_.lr_end) / base_lr_;
    }
    case ScheduleKind::kInverseSqrt: {
      const double timescale = static_cast<double>(*options_.timescale);
      const double shift = timescale - static_cast<double>(warmup);
      return 1.0 / std::sqrt((static_cast<double>(step) + shift) / timescale);
    }
  }
  DTRAIN_ASSERT(false, "unhandled schedule kind {}", static_cast<int>(options_.kind));
}

}  // namespace dtrain::train
