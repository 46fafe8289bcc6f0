#include "dist/health_monitor.h"

#include <fcntl.h>
#include <mpi.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "dist/health_diagnosis.h"
#include "dist/job_abort.h"
#include "dist/mpi_check.h"
#include "dist/mpi_handles.h"
#include "dist/process_group.h"
#include "dist/rank_activity.h"

namespace dtrain::dist {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTag = 1;
constexpr std::size_t kMaxText = 4096;
constexpr std::size_t kHostLength = 64;
// How often the thread looks at its messages; heartbeats go out less often (heartbeat_interval).
constexpr std::chrono::milliseconds kPollInterval{20};
// Rank 0 gives the ranks this long to log its verdict before aborting the job.
constexpr std::chrono::milliseconds kVerdictGrace{1000};

enum class MessageType : std::int32_t { kHeartbeat = 1, kLeaving = 2, kVerdict = 3 };

// A rank's activity on the wire (every rank runs the same binary: raw bytes are fine).
struct Report {
  MessageType type = MessageType::kHeartbeat;
  std::int32_t phase = 0;
  std::int32_t waiting_kind = 0;
  std::int32_t text_length = 0;  // of the verdict text that follows, if any
  std::int64_t step = 0;
  std::int64_t collectives_entered = 0;
  std::int64_t waiting_sequence = 0;
  std::int64_t waiting_bytes = 0;
  std::int64_t waiting_step = 0;
  double seconds_without_progress = 0;
  double waiting_seconds = 0;
};

struct Message {
  Report report;
  char text[kMaxText] = {};
  int wire_size() const { return static_cast<int>(sizeof(Report)) + report.text_length; }
};

struct Identity {
  long pid = 0;
  char host[kHostLength] = {};
};

Report to_report(MessageType type, const ActivitySnapshot& activity) {
  Report report;
  report.type = type;
  report.phase = static_cast<std::int32_t>(activity.phase);
  report.waiting_kind = static_cast<std::int32_t>(activity.waiting_kind);
  report.step = activity.step;
  report.collectives_entered = activity.collectives_entered;
  report.waiting_sequence = activity.waiting_sequence;
  report.waiting_bytes = activity.waiting_bytes;
  report.waiting_step = activity.waiting_step;
  report.seconds_without_progress = activity.seconds_without_progress;
  report.waiting_seconds = activity.waiting_seconds;
  return report;
}

ActivitySnapshot to_activity(const Report& report) {
  ActivitySnapshot activity;
  activity.phase = static_cast<WorkPhase>(report.phase);
  activity.waiting_kind = static_cast<CollectiveKind>(report.waiting_kind);
  activity.step = report.step;
  activity.collectives_entered = report.collectives_entered;
  activity.waiting_sequence = report.waiting_sequence;
  activity.waiting_bytes = report.waiting_bytes;
  activity.waiting_step = report.waiting_step;
  activity.seconds_without_progress = report.seconds_without_progress;
  activity.waiting_seconds = report.waiting_seconds;
  return activity;
}

double seconds_between(Clock::time_point earlier, Clock::time_point later) {
  return std::chrono::duration<double>(later - earlier).count();
}

std::vector<Identity> exchange_identities(MPI_Comm comm, int size) {
  Identity mine;
  mine.pid = static_cast<long>(::getpid());
  if (::gethostname(mine.host, sizeof(mine.host) - 1) != 0) std::strcpy(mine.host, "unknown");
  std::vector<Identity> all(static_cast<std::size_t>(size));
  DTRAIN_MPI_CHECK(
      MPI_Allgather(&mine, sizeof(Identity), MPI_BYTE, all.data(), sizeof(Identity), MPI_BYTE, comm));
  return all;
}

// For launchers that relaunch without the failed ranks (launch/mpirun.sh --min-ranks).
void append_failure_report(const std::vector<RankReport>& culprits, const char* reason) {
  const char* path = std::getenv("DTRAIN_FAILURE_REPORT");
  if (!path || !*path || culprits.empty()) return;
  std::string lines;
  for (const RankReport& culprit : culprits)
    lines += fmt::format("{} {} {} {}\n", culprit.rank, culprit.host, culprit.pid, reason);
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;  // the verdict is logged either way
  [[maybe_unused]] const ssize_t written = ::write(fd, lines.data(), lines.size());
  ::close(fd);
}

}  // namespace

class HealthMonitor::Watch {
 public:
  Watch(const ProcessGroup& group, HealthOptions options)
      : options_(options),
        heartbeat_interval_(std::clamp(options.heartbeat_timeout / 10, 0.05, 1.0)),
        rank_(group.rank()),
        size_(group.size()),
        channel_(OwnedComm::duplicate(world_comm(group))) {
    const std::vector<Identity> identities = exchange_identities(world_comm(group), size_);
    const Clock::time_point now = Clock::now();
    for (int r = 0; r < size_; ++r) {
      RankReport report;
      report.rank = r;
      report.host = identities[static_cast<std::size_t>(r)].host;
      report.pid = identities[static_cast<std::size_t>(r)].pid;
      peers_.push_back(std::move(report));
      // Rank 0 watches every rank; every other rank watches rank 0.
      if (r != rank_ && (rank_ == 0 || r == 0)) watched_.push_back(r);
    }
    heard_at_.assign(static_cast<std::size_t>(size_), now);
    left_.assign(static_cast<std::size_t>(size_), false);
    heartbeat_slots_.resize(static_cast<std::size_t>(size_));
    if (rank_ == 0) {
      spdlog::debug("health monitor: heartbeat every {:g} s, heartbeat_timeout {:g} s, ddp_timeout {:g} s",
                    heartbeat_interval_, options_.heartbeat_timeout, options_.ddp_timeout);
    }
    thread_ = std::thread([this] { run_or_abort(); });
  }

  ~Watch() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  // kLeave: goodbye handshake; kAbandon: stop now (the job is being aborted).
  enum class Stop { kRun, kLeave, kAbandon };
  void stop(Stop how) { stop_.store(how); }

 private:
  void run_or_abort() {
    try {
      run();
    } catch (const std::exception& e) {
      log_fatal(std::string("health monitor: ") + e.what());
      abort_job(1);
    }
  }

  void run() {
    post_receive();
    Clock::time_point next_heartbeat = Clock::now();
    bool leaving_sent = false;
    for (;;) {
      const Stop how = stop_.load();
      if (how == Stop::kAbandon) return cancel_receive();
      Clock::time_point now = Clock::now();
      if (how == Stop::kLeave && !leaving_sent) {
        ActivitySnapshot last = RankActivity::process().snapshot();
        last.phase = WorkPhase::kFinished;
        for (int peer : watched_) send_control(peer, to_report(MessageType::kLeaving, last), "");
        leaving_sent = true;
      }
      const bool heartbeat_due = !leaving_sent && now >= next_heartbeat;
      if (heartbeat_due) {
        send_heartbeats();
        next_heartbeat = now + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(heartbeat_interval_));
      }
      receive_all();
      reap_sends();
      if (leaving_sent && std::all_of(watched_.begin(), watched_.end(),
                                      [this](int peer) { return left_[static_cast<std::size_t>(peer)]; })) {
        break;
      }
      now = Clock::now();
      check_silence(now);
      if (rank_ == 0 && heartbeat_due) check_deadlines(now);
      std::this_thread::sleep_for(kPollInterval);
    }
    cancel_receive();
    finish_sends(std::chrono::seconds(5));
  }

  // ---- messages ----

  void post_receive() {
    DTRAIN_MPI_CHECK(
        MPI_Irecv(&incoming_, sizeof(Message), MPI_BYTE, MPI_ANY_SOURCE, kTag, channel_.get(), &receive_));
  }

  void cancel_receive() {
    if (receive_ == MPI_REQUEST_NULL) return;
    MPI_Cancel(&receive_);
    MPI_Wait(&receive_, MPI_STATUS_IGNORE);
  }

  void receive_all() {
    for (;;) {
      int done = 0;
      MPI_Status status;
      DTRAIN_MPI_CHECK(MPI_Test(&receive_, &done, &status));
      if (!done) return;
      handle(status.MPI_SOURCE, incoming_);
      post_receive();
    }
  }

  void handle(int source, const Message& message) {
    const auto index = static_cast<std::size_t>(source);
    heard_at_[index] = Clock::now();
    switch (message.report.type) {
      case MessageType::kHeartbeat:
        peers_[index].activity = to_activity(message.report);
        break;
      case MessageType::kLeaving:
        peers_[index].activity = to_activity(message.report);
        left_[index] = true;
        break;
      case MessageType::kVerdict: {
        const std::size_t length =
            std::min<std::size_t>(static_cast<std::size_t>(message.report.text_length), kMaxText);
        log_fatal(std::string(message.text, length));
        // Rank 0 aborts the job once the ranks had time to log; this is in case it cannot.
        std::this_thread::sleep_for(2 * kVerdictGrace);
        abort_job(1);
      }
    }
  }

  void send_heartbeats() {
    const Report report = to_report(MessageType::kHeartbeat, RankActivity::process().snapshot());
    for (int peer : watched_) {
      HeartbeatSlot& slot = heartbeat_slots_[static_cast<std::size_t>(peer)];
      if (slot.request != MPI_REQUEST_NULL) {
        int done = 0;
        DTRAIN_MPI_CHECK(MPI_Test(&slot.request, &done, MPI_STATUS_IGNORE));
        if (!done) continue;  // the previous one has not left yet: never queue up behind a stopped peer
      }
      slot.report = report;
      DTRAIN_MPI_CHECK(
          MPI_Isend(&slot.report, sizeof(Report), MPI_BYTE, peer, kTag, channel_.get(), &slot.request));
    }
  }

  void send_control(int peer, const Report& report, const std::string& text) {
    auto message = std::make_unique<Message>();
    message->report = report;
    message->report.text_length = static_cast<std::int32_t>(std::min(text.size(), kMaxText));
    std::memcpy(message->text, text.data(), static_cast<std::size_t>(message->report.text_length));
    Control control{std::move(message), MPI_REQUEST_NULL};
    DTRAIN_MPI_CHECK(MPI_Isend(control.message.get(), control.message->wire_size(), MPI_BYTE, peer, kTag,
                               channel_.get(), &control.request));
    controls_.push_back(std::move(control));
  }

  void reap_sends() {
    for (auto it = controls_.begin(); it != controls_.end();) {
      int done = 0;
      DTRAIN_MPI_CHECK(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE));
      it = done ? controls_.erase(it) : it + 1;
    }
  }

  // Small messages complete without their receiver; one that does not within `limit` (its peer
  // is gone) is left to MPI.
  void finish_sends(Clock::duration limit) {
    const Clock::time_point deadline = Clock::now() + limit;
    std::vector<MPI_Request*> requests;
    for (auto& slot : heartbeat_slots_) requests.push_back(&slot.request);
    for (auto& control : controls_) requests.push_back(&control.request);
    for (MPI_Request* request : requests) {
      for (int done = 0; *request != MPI_REQUEST_NULL;) {
        MPI_Test(request, &done, MPI_STATUS_IGNORE);
        if (done) break;
        if (Clock::now() > deadline) {
          MPI_Request_free(request);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

  // ---- diagnosis ----

  // A peer as last heard from, its durations advanced to `now` (it has been doing the same since).
  RankReport aged(int rank, Clock::time_point now) const {
    if (rank == rank_) {
      RankReport self = peers_[static_cast<std::size_t>(rank)];
      self.activity = RankActivity::process().snapshot();
      return self;
    }
    RankReport report = peers_[static_cast<std::size_t>(rank)];
    const double age = seconds_between(heard_at_[static_cast<std::size_t>(rank)], now);
    report.activity.seconds_without_progress += age;
    if (report.activity.waiting_sequence > 0) report.activity.waiting_seconds += age;
    return report;
  }

  void check_silence(Clock::time_point now) {
    for (int peer : watched_) {
      const auto index = static_cast<std::size_t>(peer);
      const double silent = seconds_between(heard_at_[index], now);
      if (left_[index] || silent <= options_.heartbeat_timeout) continue;
      conclude(silence_verdict(peers_[index], silent, options_.heartbeat_timeout), "heartbeat");
    }
  }

  void check_deadlines(Clock::time_point now) {
    std::vector<RankReport> reports;
    for (int r = 0; r < size_; ++r) reports.push_back(aged(r, now));
    if (const auto verdict = deadline_verdict(reports, options_.ddp_timeout))
      conclude(*verdict, "ddp_timeout");
    if (now < next_notice_) return;
    if (const auto notice = excused_wait_notice(reports, options_.ddp_timeout)) {
      spdlog::warn("{}", *notice);
      next_notice_ = now + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options_.ddp_timeout));
    }
  }

  // Logs the verdict, tells the other ranks (rank 0), records the culprits and ends the job.
  [[noreturn]] void conclude(const Verdict& verdict, const char* reason) {
    log_fatal(verdict.message);
    std::vector<RankReport> culprits;
    for (int rank : verdict.culprits) culprits.push_back(peers_[static_cast<std::size_t>(rank)]);
    append_failure_report(culprits, reason);
    if (rank_ == 0) {
      // A silent rank cannot take the message; a hung one can, and logs it too.
      const bool culprits_listen = std::strcmp(reason, "heartbeat") != 0;
      for (int r = 1; r < size_; ++r) {
        const bool culprit =
            std::find(verdict.culprits.begin(), verdict.culprits.end(), r) != verdict.culprits.end();
        if ((culprits_listen || !culprit) && !left_[static_cast<std::size_t>(r)])
          send_control(r, Report{MessageType::kVerdict}, verdict.message);
      }
      const Clock::time_point deadline = Clock::now() + kVerdictGrace;
      while (!controls_.empty() && Clock::now() < deadline) {
        reap_sends();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      std::this_thread::sleep_for(kVerdictGrace);
    }
    abort_job(1);
  }

  struct HeartbeatSlot {
    Report report;  // the buffer of the send in flight
    MPI_Request request = MPI_REQUEST_NULL;
  };
  struct Control {
    std::unique_ptr<Message> message;
    MPI_Request request;
  };

  HealthOptions options_;
  double heartbeat_interval_;
  int rank_;
  int size_;
  OwnedComm channel_;
  std::vector<RankReport> peers_;  // by rank: identity and the activity last heard
  std::vector<int> watched_;
  std::vector<Clock::time_point> heard_at_;
  std::vector<bool> left_;
  std::vector<HeartbeatSlot> heartbeat_slots_;  // by destination
  std::vector<Control> controls_;               // leaving and verdict messages in flight
  Message incoming_;
  MPI_Request receive_ = MPI_REQUEST_NULL;
  Clock::time_point next_notice_{};
  std::atomic<Stop> stop_{Stop::kRun};
  std::thread thread_;  // last: starts once everything above exists
};

HealthMonitor::HealthMonitor(const ProcessGroup& group, HealthOptions options) {
  DTRAIN_CHECK(options.heartbeat_timeout > 0, "heartbeat_timeout must be > 0 seconds, got {}",
               options.heartbeat_timeout);
  DTRAIN_CHECK(options.ddp_timeout > 0, "ddp_timeout must be > 0 seconds, got {}", options.ddp_timeout);
  if (group.size() > 1) watch_ = std::make_unique<Watch>(group, options);
}

HealthMonitor::~HealthMonitor() {
  if (!watch_) return;
  if (std::uncaught_exceptions() == 0) {
    watch_->stop(Watch::Stop::kLeave);
    return;
  }
  watch_->stop(Watch::Stop::kAbandon);
  watch_->join();
  // MPI may still read the buffers of heartbeats that a stopped peer never took, and the job is
  // about to be aborted: leave them (and the channel) to the end of the process.
  static_cast<void>(watch_.release());
}

}  // namespace dtrain::dist
