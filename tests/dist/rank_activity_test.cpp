// RankActivity: collectives numbered in entering order, the oldest unfinished one reported, and
// phases that restore themselves.
#include "dist/rank_activity.h"

#include <gtest/gtest.h>

#include <thread>

namespace dtrain::dist {
namespace {

TEST(RankActivity, ReportsTheOldestUnfinishedCollectiveWithTheStepItWasEnteredAt) {
  RankActivity activity;
  activity.set_step(7);
  const std::int64_t first = activity.enter_collective(CollectiveKind::kAllReduce, 1024);
  activity.set_step(8);
  const std::int64_t second = activity.enter_collective(CollectiveKind::kAllGather, 24);
  EXPECT_EQ(second, first + 1);

  ActivitySnapshot snapshot = activity.snapshot();
  EXPECT_EQ(snapshot.collectives_entered, second);
  EXPECT_EQ(snapshot.waiting_sequence, first);
  EXPECT_EQ(snapshot.waiting_kind, CollectiveKind::kAllReduce);
  EXPECT_EQ(snapshot.waiting_bytes, 1024);
  EXPECT_EQ(snapshot.waiting_step, 7);
  EXPECT_EQ(snapshot.step, 8);

  activity.complete_collective(first);  // completions may come from another thread
  snapshot = activity.snapshot();
  EXPECT_EQ(snapshot.waiting_sequence, second);
  EXPECT_EQ(snapshot.waiting_kind, CollectiveKind::kAllGather);
  std::thread([&] { activity.complete_collective(second); }).join();
  EXPECT_EQ(activity.snapshot().waiting_sequence, 0);
  EXPECT_EQ(activity.snapshot().collectives_entered, second);
}

TEST(RankActivity, PhaseChangesAndProgressMarksResetTheIdleClock) {
  RankActivity activity;
  activity.set_phase(WorkPhase::kEvaluation);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_GE(activity.snapshot().seconds_without_progress, 0.03);
  activity.mark_progress();
  EXPECT_LT(activity.snapshot().seconds_without_progress, 0.03);
  EXPECT_EQ(activity.snapshot().phase, WorkPhase::kEvaluation);
}

TEST(RankActivity, ScopesRestoreThePhaseAndCompleteTheirCollective) {
  RankActivity& activity = RankActivity::process();
  activity.set_phase(WorkPhase::kData);
  {
    const PhaseScope saving(WorkPhase::kCheckpoint);
    const CollectiveScope barrier(CollectiveKind::kBarrier, 0);
    EXPECT_EQ(activity.snapshot().phase, WorkPhase::kCheckpoint);
    EXPECT_EQ(activity.snapshot().waiting_kind, CollectiveKind::kBarrier);
  }
  EXPECT_EQ(activity.snapshot().phase, WorkPhase::kData);
  EXPECT_EQ(activity.snapshot().waiting_sequence, 0);
  EXPECT_TRUE(phase_excuses_waiting(WorkPhase::kCheckpoint));
  EXPECT_TRUE(phase_excuses_waiting(WorkPhase::kFinishing));
  EXPECT_FALSE(phase_excuses_waiting(WorkPhase::kEvaluation));
  EXPECT_FALSE(phase_excuses_waiting(WorkPhase::kData));
}

}  // namespace
}  // namespace dtrain::dist
