#pragma once
// What the health monitor concludes from the ranks' latest reports: a rank that went silent, or
// ranks that wait in a collective longer than ddp_timeout for others that do not come. Pure
// functions of the reports (no MPI), so every rule is testable on its own.
#include <optional>
#include <string>
#include <vector>

#include "dist/rank_activity.h"

namespace dtrain::dist {

// One rank as the monitor last heard of it, its durations advanced to "now".
struct RankReport {
  int rank = 0;
  std::string host;
  long pid = 0;
  ActivitySnapshot activity;
};

// A conclusion that ends the job: the line every surviving rank logs, and the ranks to blame (to
// leave out of a relaunch; empty when no single rank is at fault).
struct Verdict {
  std::string message;
  std::vector<int> culprits;
};

// "rank 1 (host node02, pid 4242)"
std::string describe_rank(const RankReport& report);
// "last seen at step 57 in phase data after collective #340" (or "... waiting in collective #341
// (all_reduce, 4 bytes) for 2.0 s")
std::string describe_last_seen(const RankReport& report);

// `silent` has sent nothing for `silent_seconds`, more than heartbeat_timeout.
Verdict silence_verdict(const RankReport& silent, double silent_seconds, double heartbeat_timeout);

// Looks at the oldest collective that some rank has waited in for longer than `ddp_timeout`:
// - ranks that have not entered it yet are missing; each is to blame once it has made no progress
//   for ddp_timeout either (a rank that is saving a checkpoint, see phase_excuses_waiting, or still
//   evaluating batches, is not);
// - if every rank entered it, the ranks disagree on what it is (mismatched calls) or it is stuck
//   in the transport.
// nullopt while nothing is overdue or every missing rank is excused. `reports` holds every rank.
std::optional<Verdict> deadline_verdict(const std::vector<RankReport>& reports, double ddp_timeout);

// When ranks wait longer than ddp_timeout only for excused ranks (rank 0 saving): a notice saying
// so, for the log. nullopt otherwise.
std::optional<std::string> excused_wait_notice(const std::vector<RankReport>& reports, double ddp_timeout);

}  // namespace dtrain::dist
