// The non-finite step policy: finite steps pass, non-finite ones are skipped and counted, and the
// limit-th in a row stops the run with an error that says where.
#include "train/nonfinite_steps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/error_matchers.h"

namespace dtrain::train {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(NonFiniteSteps, SkipsNonFiniteStepsAndStopsAtTheLimitInARow) {
  NonFiniteSteps policy(3, "runs/x", /*report=*/false);
  EXPECT_TRUE(policy.record(1, {0.5, 0.7}, true));
  EXPECT_FALSE(policy.record(2, {0.5, kNan}, true));
  EXPECT_FALSE(policy.record(3, {0.5, 0.7}, false)) << "non-finite gradients alone";
  EXPECT_EQ(policy.consecutive(), 2);
  EXPECT_TRUE(policy.record(4, {0.5, 0.7}, true)) << "a finite step resets the count";
  EXPECT_EQ(policy.consecutive(), 0);
  EXPECT_FALSE(policy.record(5, {kInf, 0.7}, true));
  EXPECT_FALSE(policy.record(6, {kNan, kNan}, false));
  EXPECT_DTRAIN_ERROR(policy.record(7, {0.4, kNan}, true), "step 7: 3 steps in a row (5 to 7)",
                      "the last: non-finite loss on rank 1", "max_consecutive_nonfinite_steps 3",
                      "the checkpoints in runs/x hold finite weights", "--resume_from_checkpoint latest");
}

TEST(NonFiniteSteps, NamesEveryRankWithANonFiniteLoss) {
  NonFiniteSteps policy(1, "out", false);
  EXPECT_DTRAIN_ERROR(policy.record(9, {kNan, 1.0, kInf}, true), "non-finite loss on ranks 0, 2");
}

}  // namespace
}  // namespace dtrain::train
