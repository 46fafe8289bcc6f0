#include "dist/health_diagnosis.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>

namespace dtrain::dist {
namespace {

constexpr std::size_t kMaxListed = 8;  // ranks named in one line; the rest are counted

std::string format_bytes(std::int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < 1024LL * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024));
  return fmt::format("{:.1f} GiB", bytes / (1024.0 * 1024 * 1024));
}

// "rank 3", "ranks 0 and 2", "ranks 0, 1, 2, 3, 4, 5, 6, 7 and 12 more"
std::string rank_list(const std::vector<const RankReport*>& reports) {
  if (reports.size() == 1) return fmt::format("rank {}", reports.front()->rank);
  std::string listed;
  const std::size_t shown = std::min(reports.size(), kMaxListed);
  for (std::size_t i = 0; i < shown; ++i) {
    const bool last = i + 1 == shown && shown == reports.size();
    listed += fmt::format("{}{}", i == 0 ? "" : last ? " and " : ", ", reports[i]->rank);
  }
  if (shown < reports.size()) listed += fmt::format(" and {} more", reports.size() - shown);
  return "ranks " + listed;
}

std::string describe_collective(std::int64_t sequence, CollectiveKind kind, std::int64_t bytes,
                                std::int64_t step) {
  return fmt::format("collective #{} ({}, {}, step {})", sequence, collective_name(kind), format_bytes(bytes),
                     step);
}

// A missing rank's share of the blame: how long it has kept the waiters waiting without doing
// anything it may keep them waiting for.
double blame_seconds(const RankReport& missing, double longest_wait) {
  const ActivitySnapshot& activity = missing.activity;
  if (activity.phase == WorkPhase::kFinished) return longest_wait;
  if (phase_excuses_waiting(activity.phase)) return 0;
  return std::min(longest_wait, activity.seconds_without_progress);
}

struct Overdue {
  std::int64_t sequence = 0;
  std::vector<const RankReport*> waiters;  // ranks whose oldest unfinished collective it is
  const RankReport* longest = nullptr;     // the waiter that has waited longest
  std::vector<const RankReport*> missing;  // ranks that have not entered it
};

// The oldest collective some rank has waited in for longer than `timeout`.
std::optional<Overdue> oldest_overdue(const std::vector<RankReport>& reports, double timeout) {
  std::int64_t sequence = 0;
  for (const RankReport& report : reports) {
    const ActivitySnapshot& activity = report.activity;
    if (activity.waiting_sequence > 0 && activity.waiting_seconds > timeout &&
        (sequence == 0 || activity.waiting_sequence < sequence)) {
      sequence = activity.waiting_sequence;
    }
  }
  if (sequence == 0) return std::nullopt;
  Overdue overdue;
  overdue.sequence = sequence;
  for (const RankReport& report : reports) {
    if (report.activity.waiting_sequence == sequence) {
      overdue.waiters.push_back(&report);
      if (!overdue.longest || report.activity.waiting_seconds > overdue.longest->activity.waiting_seconds)
        overdue.longest = &report;
    } else if (report.activity.collectives_entered < sequence) {
      overdue.missing.push_back(&report);
    }
  }
  return overdue;
}

std::string waiters_clause(const Overdue& overdue) {
  const ActivitySnapshot& longest = overdue.longest->activity;
  return fmt::format("{} {} waited {}{:.1f} s in {}", rank_list(overdue.waiters),
                     overdue.waiters.size() == 1 ? "has" : "have",
                     overdue.waiters.size() == 1 ? "" : "up to ", longest.waiting_seconds,
                     describe_collective(overdue.sequence, longest.waiting_kind, longest.waiting_bytes,
                                         longest.waiting_step));
}

}  // namespace

std::string describe_rank(const RankReport& report) {
  return fmt::format("rank {} (host {}, pid {})", report.rank, report.host, report.pid);
}

std::string describe_last_seen(const RankReport& report) {
  const ActivitySnapshot& activity = report.activity;
  if (activity.waiting_sequence > 0) {
    return fmt::format("last seen at step {} in phase {}, waiting {:.1f} s in {}", activity.step,
                       phase_name(activity.phase), activity.waiting_seconds,
                       describe_collective(activity.waiting_sequence, activity.waiting_kind,
                                           activity.waiting_bytes, activity.waiting_step));
  }
  return fmt::format("last seen at step {} in phase {} after collective #{}", activity.step,
                     phase_name(activity.phase), activity.collectives_entered);
}

Verdict silence_verdict(const RankReport& silent, double silent_seconds, double heartbeat_timeout) {
  return {
      fmt::format("heartbeat: {} has sent no heartbeat for {:.1f} s (heartbeat_timeout {:g} s): its process "
                  "is stopped, frozen or cut off from the others; {}",
                  describe_rank(silent), silent_seconds, heartbeat_timeout, describe_last_seen(silent)),
      {silent.rank}};
}

std::optional<Verdict> deadline_verdict(const std::vector<RankReport>& reports, double ddp_timeout) {
  const std::optional<Overdue> overdue = oldest_overdue(reports, ddp_timeout);
  if (!overdue) return std::nullopt;
  const double longest_wait = overdue->longest->activity.waiting_seconds;

  if (overdue->missing.empty()) {
    // Every rank entered it: either they disagree on what it is, or it is stuck in the transport.
    const CollectiveKind kind = overdue->longest->activity.waiting_kind;
    for (const RankReport* waiter : overdue->waiters) {
      if (waiter->activity.waiting_kind != kind) {
        return Verdict{fmt::format("ddp_timeout: the ranks entered different collectives as #{}: rank {} {}, "
                                   "rank {} {}; every rank must make the same collective calls in the same "
                                   "order (ddp_timeout {:g} s)",
                                   overdue->sequence, overdue->longest->rank, collective_name(kind),
                                   waiter->rank, collective_name(waiter->activity.waiting_kind), ddp_timeout),
                       {}};
      }
    }
    // A rank that has only just entered (rank 0 back from a long save) leaves the collective a moment
    // to complete: it is stuck only when every rank has waited in it beyond the deadline.
    for (const RankReport* waiter : overdue->waiters) {
      if (waiter->activity.waiting_seconds <= ddp_timeout) return std::nullopt;
    }
    return Verdict{
        fmt::format("ddp_timeout: {}, which every rank has entered: the collective is stuck in the "
                    "transport (network, driver) (ddp_timeout {:g} s)",
                    waiters_clause(*overdue), ddp_timeout),
        {}};
  }

  Verdict verdict;
  std::vector<std::string> missing;
  for (const RankReport* report : overdue->missing) {
    const double blame = blame_seconds(*report, longest_wait);
    if (blame > ddp_timeout) verdict.culprits.push_back(report->rank);
    if (missing.size() == kMaxListed) continue;
    const ActivitySnapshot& activity = report->activity;
    if (activity.phase == WorkPhase::kFinished) {
      missing.push_back(fmt::format("{}, which has finished", describe_rank(*report)));
    } else {
      missing.push_back(fmt::format("{}, {}, no progress for {:.1f} s", describe_rank(*report),
                                    describe_last_seen(*report), activity.seconds_without_progress));
    }
  }
  if (verdict.culprits.empty()) return std::nullopt;
  std::string listed = fmt::format("{}", fmt::join(missing, "; "));
  if (overdue->missing.size() > missing.size())
    listed += fmt::format("; and {} more", overdue->missing.size() - missing.size());
  verdict.message = fmt::format("ddp_timeout: {} for {} (ddp_timeout {:g} s)", waiters_clause(*overdue),
                                listed, ddp_timeout);
  return verdict;
}

std::optional<std::string> excused_wait_notice(const std::vector<RankReport>& reports, double ddp_timeout) {
  const std::optional<Overdue> overdue = oldest_overdue(reports, ddp_timeout);
  if (!overdue || overdue->missing.empty()) return std::nullopt;
  const double longest_wait = overdue->longest->activity.waiting_seconds;
  for (const RankReport* report : overdue->missing) {
    if (!phase_excuses_waiting(report->activity.phase) || blame_seconds(*report, longest_wait) > ddp_timeout)
      return std::nullopt;
  }
  return fmt::format(
      "{} for {}, busy in phase {} (step {}): saving is not a deadlock, so ddp_timeout ({:g} s) "
      "does not apply while it lasts",
      waiters_clause(*overdue), rank_list(overdue->missing),
      phase_name(overdue->missing.front()->activity.phase), overdue->missing.front()->activity.step,
      ddp_timeout);
}

}  // namespace dtrain::dist
