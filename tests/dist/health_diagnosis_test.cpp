// The health monitor's conclusions from the ranks' reports: who is silent, who keeps a collective
// waiting past ddp_timeout, and who is excused.
#include "dist/health_diagnosis.h"

#include <gtest/gtest.h>

namespace dtrain::dist {
namespace {

RankReport rank_report(int rank, std::int64_t step, WorkPhase phase, std::int64_t entered) {
  RankReport report;
  report.rank = rank;
  report.host = "node0" + std::to_string(rank);
  report.pid = 1000 + rank;
  report.activity.step = step;
  report.activity.phase = phase;
  report.activity.collectives_entered = entered;
  return report;
}

// `report` waits in its newest collective for `seconds`.
RankReport waiting(RankReport report, CollectiveKind kind, std::int64_t bytes, double seconds) {
  report.activity.waiting_sequence = report.activity.collectives_entered;
  report.activity.waiting_kind = kind;
  report.activity.waiting_bytes = bytes;
  report.activity.waiting_step = report.activity.step;
  report.activity.waiting_seconds = seconds;
  report.activity.seconds_without_progress = seconds;
  return report;
}

RankReport idle_for(RankReport report, double seconds) {
  report.activity.seconds_without_progress = seconds;
  return report;
}

TEST(HealthDiagnosis, SilenceNamesTheRankItsHostPidAndWhereItWasLastSeen) {
  const RankReport silent =
      waiting(rank_report(1, 57, WorkPhase::kBackward, 340), CollectiveKind::kAllReduce, 2048, 0.5);
  const Verdict verdict = silence_verdict(silent, 3.4, 3);
  EXPECT_EQ(verdict.culprits, std::vector<int>{1});
  EXPECT_EQ(
      verdict.message,
      "heartbeat: rank 1 (host node01, pid 1001) has sent no heartbeat for 3.4 s (heartbeat_timeout 3 s): "
      "its process is stopped, frozen or cut off from the others; last seen at step 57 in phase backward, "
      "waiting 0.5 s in collective #340 (all_reduce, 2.0 KiB, step 57)");
}

TEST(HealthDiagnosis, ARankStuckOutsideTheCollectiveIsBlamedOnceBothWaitedPastTheDeadline) {
  const RankReport waiter =
      waiting(rank_report(0, 5, WorkPhase::kCommunication, 57), CollectiveKind::kAllReduce, 4, 10.4);
  const RankReport stuck = idle_for(rank_report(1, 5, WorkPhase::kData, 56), 10.2);
  const auto verdict = deadline_verdict({waiter, stuck}, 10);
  ASSERT_TRUE(verdict.has_value());
  EXPECT_EQ(verdict->culprits, std::vector<int>{1});
  EXPECT_EQ(
      verdict->message,
      "ddp_timeout: rank 0 has waited 10.4 s in collective #57 (all_reduce, 4 bytes, step 5) for rank 1 "
      "(host node01, pid 1001), last seen at step 5 in phase data after collective #56, no progress for "
      "10.2 s (ddp_timeout 10 s)");

  // Either clock below the deadline: not yet.
  const RankReport early =
      waiting(rank_report(0, 5, WorkPhase::kCommunication, 57), CollectiveKind::kAllReduce, 4, 9.9);
  EXPECT_FALSE(deadline_verdict({early, stuck}, 10).has_value());
  EXPECT_FALSE(deadline_verdict({waiter, idle_for(stuck, 3)}, 10).has_value())
      << "the missing rank was busy until 3 s ago: it gets its own ddp_timeout";
}

TEST(HealthDiagnosis, RankZeroSavingACheckpointIsExcusedWithANotice) {
  const RankReport saving = idle_for(rank_report(0, 4, WorkPhase::kCheckpoint, 30), 20);
  const RankReport waiter =
      waiting(rank_report(1, 4, WorkPhase::kCheckpoint, 31), CollectiveKind::kBarrier, 0, 19);
  EXPECT_FALSE(deadline_verdict({saving, waiter}, 5).has_value());
  const auto notice = excused_wait_notice({saving, waiter}, 5);
  ASSERT_TRUE(notice.has_value());
  EXPECT_EQ(
      *notice,
      "rank 1 has waited 19.0 s in collective #31 (barrier, 0 bytes, step 4) for rank 0, busy in phase "
      "checkpoint (step 4): saving is not a deadlock, so ddp_timeout (5 s) does not apply while it lasts");
  // Once the save is over, the rank is judged again from then on.
  EXPECT_FALSE(
      deadline_verdict({idle_for(rank_report(0, 4, WorkPhase::kData, 30), 1), waiter}, 5).has_value());
  EXPECT_TRUE(
      deadline_verdict({idle_for(rank_report(0, 4, WorkPhase::kData, 30), 6), waiter}, 5).has_value());
}

TEST(HealthDiagnosis, EvaluationIsExcusedOnlyWhileBatchesKeepComing) {
  const RankReport waiter =
      waiting(rank_report(1, 8, WorkPhase::kEvaluation, 70), CollectiveKind::kGather, 96, 30);
  EXPECT_FALSE(deadline_verdict({idle_for(rank_report(0, 8, WorkPhase::kEvaluation, 69), 0.2), waiter}, 10)
                   .has_value());
  const auto stuck =
      deadline_verdict({idle_for(rank_report(0, 8, WorkPhase::kEvaluation, 69), 12), waiter}, 10);
  ASSERT_TRUE(stuck.has_value());
  EXPECT_EQ(stuck->culprits, std::vector<int>{0});
  EXPECT_FALSE(excused_wait_notice({idle_for(rank_report(0, 8, WorkPhase::kEvaluation, 69), 0.2), waiter}, 10)
                   .has_value())
      << "a rank that is evaluating is not waited for in an excused phase";
}

TEST(HealthDiagnosis, ManyWaitersAndMissingRanksAreListedCompactly) {
  std::vector<RankReport> reports;
  for (int rank = 0; rank < 12; ++rank) {
    reports.push_back(waiting(rank_report(rank, 9, WorkPhase::kCommunication, 100),
                              CollectiveKind::kAllReduce, 25 * 1024 * 1024, 40 + rank));
  }
  reports[3] = idle_for(rank_report(3, 9, WorkPhase::kForward, 99), 41);
  reports[7] = idle_for(rank_report(7, 9, WorkPhase::kCheckpoint, 99), 41);
  const auto verdict = deadline_verdict(reports, 30);
  ASSERT_TRUE(verdict.has_value());
  EXPECT_EQ(verdict->culprits, std::vector<int>{3}) << "rank 7 is excused while it saves";
  EXPECT_NE(
      verdict->message.find("ranks 0, 1, 2, 4, 5, 6, 8, 9 and 2 more have waited up to 51.0 s in collective "
                            "#100 (all_reduce, 25.0 MiB, step 9) for rank 3 (host node03, pid 1003)"),
      std::string::npos)
      << verdict->message;
  EXPECT_NE(
      verdict->message.find("; rank 7 (host node07, pid 1007), last seen at step 9 in phase checkpoint"),
      std::string::npos)
      << verdict->message;
}

TEST(HealthDiagnosis, AFinishedRankThatNeverReachedTheCollectiveIsBlamed) {
  const RankReport waiter =
      waiting(rank_report(0, 3, WorkPhase::kCommunication, 20), CollectiveKind::kAllReduce, 8, 12);
  RankReport finished = rank_report(1, 3, WorkPhase::kFinished, 19);
  const auto verdict = deadline_verdict({waiter, finished}, 10);
  ASSERT_TRUE(verdict.has_value());
  EXPECT_EQ(verdict->culprits, std::vector<int>{1});
  EXPECT_NE(verdict->message.find("rank 1 (host node01, pid 1001), which has finished"), std::string::npos)
      << verdict->message;
}

TEST(HealthDiagnosis, MismatchedOrStuckCollectivesBlameNoSingleRank) {
  const RankReport reduce =
      waiting(rank_report(0, 2, WorkPhase::kCommunication, 9), CollectiveKind::kAllReduce, 4, 11);
  const RankReport barrier =
      waiting(rank_report(1, 2, WorkPhase::kCheckpoint, 9), CollectiveKind::kBarrier, 0, 11);
  const auto mismatch = deadline_verdict({reduce, barrier}, 10);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_TRUE(mismatch->culprits.empty());
  EXPECT_EQ(
      mismatch->message,
      "ddp_timeout: the ranks entered different collectives as #9: rank 0 all_reduce, rank 1 barrier; every "
      "rank must make the same collective calls in the same order (ddp_timeout 10 s)");

  const auto stuck = deadline_verdict(
      {reduce, waiting(rank_report(1, 2, WorkPhase::kCommunication, 9), CollectiveKind::kAllReduce, 4, 10.5)},
      10);
  ASSERT_TRUE(stuck.has_value());
  EXPECT_TRUE(stuck->culprits.empty());
  EXPECT_NE(stuck->message.find("which every rank has entered: the collective is stuck in the transport"),
            std::string::npos)
      << stuck->message;

  // The last rank has only just joined (back from a long save): the collective gets its chance.
  EXPECT_FALSE(deadline_verdict({reduce, waiting(rank_report(1, 2, WorkPhase::kCommunication, 9),
                                                 CollectiveKind::kAllReduce, 4, 0.01)},
                                10)
                   .has_value());
}

TEST(HealthDiagnosis, NothingOverdueNoVerdict) {
  EXPECT_FALSE(
      deadline_verdict({rank_report(0, 1, WorkPhase::kForward, 3), rank_report(1, 1, WorkPhase::kData, 3)}, 1)
          .has_value());
  EXPECT_FALSE(excused_wait_notice({rank_report(0, 1, WorkPhase::kForward, 3)}, 1).has_value());
}

}  // namespace
}  // namespace dtrain::dist
