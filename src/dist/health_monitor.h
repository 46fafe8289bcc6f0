#pragma once
// Finds a failed rank in seconds, names it, and ends the job, whatever the training threads are
// blocked in.
//
// A thread per rank exchanges heartbeats over MPI point-to-point messages on a communicator of
// its own, polled with MPI_Test: it keeps working while the communication thread is blocked in
// a collective and while a peer is stopped (Open MPI's shared-memory and TCP transports complete
// a small send without the receiver). Rank 0 hears from every rank and every rank hears from
// rank 0 (a star: O(ranks) messages per interval, no all-to-all connections). Each heartbeat
// carries the sender's RankActivity, so:
// - liveness: a rank that sends nothing for heartbeat_timeout seconds (stopped, frozen, cut off)
//   is named by rank 0, or rank 0 by every other rank;
// - progress: rank 0 checks the collective deadline (ddp_timeout, health_diagnosis.h) over all
//   ranks' reports.
// Rank 0 sends its verdict to every rank, each logs it as one line, and the job is aborted
// (job_abort.h). With DTRAIN_FAILURE_REPORT set, the blamed ranks are appended to that file as
// "<rank> <host> <pid> <reason>" lines for a launcher that relaunches without them.
#include <memory>

namespace dtrain::dist {

class ProcessGroup;

struct HealthOptions {
  double heartbeat_timeout = 30;  // seconds without a heartbeat before a rank counts as failed
  double ddp_timeout = 1800;      // seconds a collective may wait for a rank that makes no progress
};

class HealthMonitor {
 public:
  // Collective over the group (exchanges hosts and pids). With one rank it watches nothing.
  HealthMonitor(const ProcessGroup& group, HealthOptions options);
  // Says goodbye to the ranks it watches and waits for theirs, so that ranks ending at different
  // times never take each other's exit for a failure. While an exception unwinds (the job is
  // being aborted) it stops at once instead.
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

 private:
  class Watch;
  std::unique_ptr<Watch> watch_;
};

}  // namespace dtrain::dist
