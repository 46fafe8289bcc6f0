#include "train/loss_scaler.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace dtrain::train {
namespace {

TEST(LossScaler, StartsAtTwoToTheSixteenWithGradScalerDefaults) {
  const LossScalerOptions defaults;
  EXPECT_EQ(LossScaler().scale(), 65536.0);
  EXPECT_EQ(defaults.growth_factor, 2.0);
  EXPECT_EQ(defaults.backoff_factor, 0.5);
  EXPECT_EQ(defaults.growth_interval, 2000);
}

TEST(LossScaler, GrowsAfterAnIntervalOfGoodStepsAndBacksOffOnOverflow) {
  LossScaler scaler({1024.0, 2.0, 0.5, 3});
  EXPECT_TRUE(scaler.update(false));
  EXPECT_TRUE(scaler.update(false));
  EXPECT_EQ(scaler.scale(), 1024.0);
  EXPECT_TRUE(scaler.update(false));
  EXPECT_EQ(scaler.scale(), 2048.0);
  EXPECT_TRUE(scaler.update(false));
  EXPECT_FALSE(scaler.update(true));  // skipped step, and the good-step count restarts
  EXPECT_EQ(scaler.scale(), 1024.0);
  EXPECT_FALSE(scaler.update(true));
  EXPECT_EQ(scaler.scale(), 512.0);
  EXPECT_TRUE(scaler.update(false));
  EXPECT_TRUE(scaler.update(false));
  EXPECT_EQ(scaler.scale(), 512.0);
  EXPECT_TRUE(scaler.update(false));
  EXPECT_EQ(scaler.scale(), 1024.0);
}

TEST(LossScaler, StateRoundTripsAndBadStateIsRejected) {
  LossScaler scaler({1024.0, 2.0, 0.5, 3});
  scaler.update(false);
  scaler.update(false);
  LossScaler restored({1024.0, 2.0, 0.5, 3});
  restored.load_state_dict(scaler.state_dict());
  EXPECT_EQ(restored.state_dict().good_steps, 2);
  restored.update(false);
  EXPECT_EQ(restored.scale(), 2048.0);
  EXPECT_THROW(restored.load_state_dict({-1.0, 0}), dtrain::Error);
  EXPECT_THROW(LossScaler({1024.0, 1.0, 0.5, 3}), dtrain::Error);
}

}  // namespace
}  // namespace dtrain::train
