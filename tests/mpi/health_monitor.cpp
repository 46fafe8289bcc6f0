// ranks: 2 3
// The health monitor on real ranks: it keeps quiet through busy collectives, ranks that finish at
// different times and a long rank-0 save, and every rank numbers the collectives alike.
#include "dist/health_monitor.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "dist/mpi_communicator.h"
#include "dist/process_group.h"
#include "dist/rank_activity.h"

namespace dtrain::dist {
namespace {

TEST(HealthMonitor, EveryRankNumbersTheSameCollectivesAlike) {
  ProcessGroup group;
  const HealthMonitor monitor(group, {1.0, 2.0});
  MpiCommunicator comm(group);
  const at::Tensor values = at::ones({1000});
  for (int i = 0; i < 5; ++i) comm.start_all_reduce_sum(values)->wait();
  comm.barrier();
  const double entered = static_cast<double>(RankActivity::process().snapshot().collectives_entered);
  const std::vector<double> all = comm.all_gather({entered});
  for (double other : all) EXPECT_EQ(other, entered);
  EXPECT_EQ(RankActivity::process().snapshot().waiting_sequence, 0);
}

// A false alarm aborts the whole job, which fails the test run.
TEST(HealthMonitor, NoAlarmForBusyCollectivesASlowSaveOrRanksLeavingAtDifferentTimes) {
  ProcessGroup group;
  {
    const HealthMonitor monitor(group, {1.0, 1.0});
    MpiCommunicator comm(group);
    const at::Tensor values = at::randn({1 << 18});
    for (int i = 0; i < 40; ++i) {  // the same count on every rank: a loop by time would not match
      RankActivity::process().set_phase(WorkPhase::kForward);
      comm.all_reduce_sum(values);
    }

    // Rank 0 "saves" for twice ddp_timeout while the others wait in a barrier for it.
    if (group.rank() == 0) {
      const PhaseScope saving(WorkPhase::kCheckpoint);
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    }
    comm.barrier();
    // The last rank leaves well after heartbeat_timeout; the others wait for it in the goodbye.
    if (group.rank() == group.size() - 1) std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  }
  group.barrier();
}

}  // namespace
}  // namespace dtrain::dist
