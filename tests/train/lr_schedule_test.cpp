// Each schedule against transformers.optimization's lambda, written out here from its formula,
// at the steps around the warmup boundary and the end of training.
#include "train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "common/error.h"

namespace dtrain::train {
namespace {

constexpr std::int64_t kWarmup = 10;
constexpr std::int64_t kTotal = 50;
const double kPi = std::acos(-1.0);
const std::vector<std::int64_t> kSteps = {0,           1,  5,          kWarmup - 1, kWarmup,
                                          kWarmup + 1, 30, kTotal - 1, kTotal,      kTotal + 7};

double warmup(std::int64_t step) {
  return static_cast<double>(step) / kWarmup;
}

void expect_schedule(ScheduleOptions options, double base_lr,
                     const std::function<double(std::int64_t)>& hf_lambda) {
  const LrSchedule schedule(options, base_lr);
  for (std::int64_t step : kSteps) {
    EXPECT_NEAR(schedule.factor(step), hf_lambda(step), 1e-12) << "step " << step;
    EXPECT_NEAR(schedule.lr(step), base_lr * hf_lambda(step), 1e-15) << "step " << step;
  }
}

ScheduleOptions options_for(ScheduleKind kind) {
  ScheduleOptions options;
  options.kind = kind;
  options.warmup_steps = kWarmup;
  options.total_steps = kTotal;
  return options;
}

TEST(LrSchedule, Linear) {
  expect_schedule(options_for(ScheduleKind::kLinear), 5e-5, [](std::int64_t s) {
    return s < kWarmup ? warmup(s) : std::max(0.0, static_cast<double>(kTotal - s) / (kTotal - kWarmup));
  });
  const LrSchedule schedule(options_for(ScheduleKind::kLinear), 1.0);
  EXPECT_EQ(schedule.factor(kWarmup), 1.0);
  EXPECT_EQ(schedule.factor(kTotal), 0.0);
}

TEST(LrSchedule, Cosine) {
  expect_schedule(options_for(ScheduleKind::kCosine), 1e-3, [](std::int64_t s) {
    if (s < kWarmup) return warmup(s);
    const double progress = static_cast<double>(s - kWarmup) / (kTotal - kWarmup);
    return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * 0.5 * 2.0 * progress)));
  });
  EXPECT_NEAR(LrSchedule(options_for(ScheduleKind::kCosine), 1.0).factor(30), 0.5, 1e-12);  // halfway
}

TEST(LrSchedule, CosineWithRestarts) {
  ScheduleOptions options = options_for(ScheduleKind::kCosineWithRestarts);
  options.num_cycles = 2;
  expect_schedule(options, 1e-3, [](std::int64_t s) {
    if (s < kWarmup) return warmup(s);
    const double progress = static_cast<double>(s - kWarmup) / (kTotal - kWarmup);
    if (progress >= 1.0) return 0.0;
    return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * std::fmod(2.0 * progress, 1.0))));
  });
  EXPECT_NEAR(LrSchedule(options, 1.0).factor(30), 1.0, 1e-12);  // the restart
}

TEST(LrSchedule, Polynomial) {
  ScheduleOptions options = options_for(ScheduleKind::kPolynomial);
  options.power = 2.0;
  options.lr_end = 1e-5;
  const double lr_init = 1e-3;
  expect_schedule(options, lr_init, [&](std::int64_t s) {
    if (s < kWarmup) return warmup(s);
    if (s > kTotal) return options.lr_end / lr_init;
    const double remaining = 1.0 - static_cast<double>(s - kWarmup) / (kTotal - kWarmup);
    return ((lr_init - options.lr_end) * std::pow(remaining, 2.0) + options.lr_end) / lr_init;
  });
  options.lr_end = 2e-3;
  EXPECT_THROW(LrSchedule(options, lr_init), dtrain::Error);
}

TEST(LrSchedule, ConstantIgnoresWarmupAndConstantWithWarmupDoesNot) {
  expect_schedule(options_for(ScheduleKind::kConstant), 2e-5, [](std::int64_t) { return 1.0; });
  expect_schedule(options_for(ScheduleKind::kConstantWithWarmup), 2e-5,
                  [](std::int64_t s) { return s < kWarmup ? warmup(s) : 1.0; });
}

TEST(LrSchedule, InverseSqrtUsesWarmupOrTenThousandAsTimescale) {
  expect_schedule(options_for(ScheduleKind::kInverseSqrt), 1e-4, [](std::int64_t s) {
    if (s < kWarmup) return warmup(s);
    return 1.0 / std::sqrt(static_cast<double>(s) / kWarmup);  // timescale = warmup: no shift
  });
  ScheduleOptions no_warmup = options_for(ScheduleKind::kInverseSqrt);
  no_warmup.warmup_steps = 0;
  const LrSchedule schedule(no_warmup, 1.0);
  for (std::int64_t step : kSteps)
    EXPECT_NEAR(schedule.factor(step), 1.0 / std::sqrt((step + 10000.0) / 10000.0), 1e-12);
  ScheduleOptions explicit_timescale = options_for(ScheduleKind::kInverseSqrt);
  explicit_timescale.timescale = 4;
  EXPECT_NEAR(LrSchedule(explicit_timescale, 1.0).factor(30), 1.0 / std::sqrt((30.0 + 4 - kWarmup) / 4),
              1e-12);
}

TEST(LrSchedule, WarmupRatioRoundsUpAndWarmupStepsWin) {
  EXPECT_EQ(resolve_warmup_steps(0, 0.1, 95), 10);  // ceil(9.5)
  EXPECT_EQ(resolve_warmup_steps(0, 0.1, 90), 9);
  EXPECT_EQ(resolve_warmup_steps(0, 0.0, 90), 0);
  EXPECT_EQ(resolve_warmup_steps(7, 0.5, 90), 7);
  // transformers 5: a warmup_steps below 1 is the ratio; above, its integer part.
  EXPECT_EQ(resolve_warmup_steps(0.1, 0.0, 95), 10);
  EXPECT_EQ(resolve_warmup_steps(0.1, 0.5, 90), 9);
  EXPECT_EQ(resolve_warmup_steps(2.5, 0.0, 90), 2);
  EXPECT_THROW(resolve_warmup_steps(0, 1.5, 90), dtrain::Error);
}

TEST(LrSchedule, ParsesTrainerNamesAndRejectsOthers) {
  EXPECT_EQ(parse_schedule_kind("linear"), ScheduleKind::kLinear);
  EXPECT_EQ(parse_schedule_kind("cosine_with_restarts"), ScheduleKind::kCosineWithRestarts);
  EXPECT_EQ(parse_schedule_kind("inverse_sqrt"), ScheduleKind::kInverseSqrt);
  try {
    parse_schedule_kind("cosine_annealing");
    FAIL() << "no error";
  } catch (const dtrain::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'cosine_annealing' is not one of: linear, cosine"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dtrain::train
