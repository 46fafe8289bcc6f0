// DTRAIN_FAULT's grammar: what parses, and the one-line errors for what does not.
#include "common/fault_injection.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "support/error_matchers.h"

namespace dtrain::faults {
namespace {

TEST(FaultInjection, ParsesEveryKindWithItsOptions) {
  const std::vector<Fault> faults = parse(
      "kind=hang_in_data,rank=1,step=5;kind=stall_save,rank=0,step=2,seconds=2.5;kind=nan_loss,step=3,count="
      "4,"
      "restart=0;kind=crash,step=9;kind=crash_in_save,rank=0,step=4;kind=stop,rank=2,step=1");
  ASSERT_EQ(faults.size(), 6u);
  EXPECT_EQ(faults[0].kind, Kind::kHangInData);
  EXPECT_EQ(faults[0].rank, 1);
  EXPECT_EQ(faults[0].step, 5);
  EXPECT_FALSE(faults[0].restart.has_value());
  EXPECT_EQ(faults[1].kind, Kind::kStallSave);
  EXPECT_EQ(faults[1].seconds, 2.5);
  EXPECT_EQ(faults[2].kind, Kind::kNanLoss);
  EXPECT_FALSE(faults[2].rank.has_value()) << "no rank: every rank";
  EXPECT_EQ(faults[2].count, 4);
  EXPECT_EQ(faults[2].restart, 0);
  EXPECT_EQ(faults[3].kind, Kind::kCrash);
  EXPECT_EQ(faults[4].kind, Kind::kCrashInSave);
  EXPECT_EQ(faults[5].kind, Kind::kStop);
  EXPECT_TRUE(parse("").empty());
}

TEST(FaultInjection, MalformedValuesAreErrorsNamingThePart) {
  EXPECT_DTRAIN_ERROR(parse("kind=explode,step=1"),
                      "DTRAIN_FAULT: 'kind=explode,step=1': unknown kind 'explode'");
  EXPECT_DTRAIN_ERROR(parse("kind=crash"), "kind and step are required");
  EXPECT_DTRAIN_ERROR(parse("kind=crash,step=0"), "step counts from 1");
  EXPECT_DTRAIN_ERROR(parse("kind=crash,step=2,rank=one"), "rank must be a non-negative integer, got 'one'");
  EXPECT_DTRAIN_ERROR(parse("kind=crash,step=2.5"), "step must be a non-negative integer");
  EXPECT_DTRAIN_ERROR(parse("kind=crash,step=2,when=now"), "unknown key 'when'");
  EXPECT_DTRAIN_ERROR(parse("kind=crash,step"), "expected key=value, got 'step'");
}

TEST(FaultInjection, NanLossFollowsRankStepCountAndRestart) {
  ::setenv("DTRAIN_FAULT", "kind=nan_loss,rank=1,step=3,count=2,restart=1", 1);
  ::setenv("DTRAIN_RESTART_COUNT", "1", 1);
  arm(1);
  EXPECT_FALSE(nan_loss(2));
  EXPECT_TRUE(nan_loss(3));
  EXPECT_TRUE(nan_loss(4));
  EXPECT_FALSE(nan_loss(5));
  arm(0);
  EXPECT_FALSE(nan_loss(3)) << "another rank";
  ::setenv("DTRAIN_RESTART_COUNT", "0", 1);
  arm(1);
  EXPECT_FALSE(nan_loss(3)) << "another launch";
  ::unsetenv("DTRAIN_FAULT");
  ::unsetenv("DTRAIN_RESTART_COUNT");
  arm(1);
  EXPECT_FALSE(nan_loss(3));
  at(Point::kStepStart, 3);  // inert without the variable
}

}  // namespace
}  // namespace dtrain::faults
