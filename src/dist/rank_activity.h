#pragma once
// Where this rank is: the training step, the phase of work it is in, and the collectives it has
// entered but not yet completed. The health monitor (health_monitor.h) sends this record to the
// other ranks with every heartbeat, so a diagnosis can say where a silent or missing rank was last
// seen and which collective the others wait in.
//
// Collectives are numbered in the order this rank enters them (on the calling thread, before any
// work is queued), so the n-th collective of every rank is the same call: a rank that has entered
// fewer collectives than the one another rank waits in has not reached it yet.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace dtrain::dist {

enum class WorkPhase : std::int32_t {
  kStartup,  // loading model and data, resuming
  kData,     // reading the step's batches
  kForward,
  kBackward,
  kCommunication,  // waiting for the step's gradient and loss reductions
  kOptimizer,
  kEvaluation,  // counts each evaluated batch as progress
  kCheckpoint,  // rank 0 writes while the others wait: legitimately keeps rank 0 away
  kFinishing,   // the final save, same as kCheckpoint
  kFinished,    // the process is shutting down
};
const char* phase_name(WorkPhase phase);
// Phases in which a rank may keep the others waiting for longer than ddp_timeout without being
// blamed for it: rank 0's checkpoint and final-model saves.
bool phase_excuses_waiting(WorkPhase phase);

enum class CollectiveKind : std::int32_t { kAllReduce, kBroadcast, kBarrier, kAllGather, kGather };
const char* collective_name(CollectiveKind kind);

struct ActivitySnapshot {
  std::int64_t step = 0;  // the optimizer step being run (1-based; 0 before the first)
  WorkPhase phase = WorkPhase::kStartup;
  double seconds_without_progress = 0;  // since the last phase change or progress mark
  std::int64_t collectives_entered = 0;
  // The oldest collective entered but not completed; waiting_sequence 0: none.
  std::int64_t waiting_sequence = 0;
  CollectiveKind waiting_kind = CollectiveKind::kAllReduce;
  std::int64_t waiting_bytes = 0;
  std::int64_t waiting_step = 0;
  double waiting_seconds = 0;
};

// One per process (collectives and phases of all threads), thread-safe.
class RankActivity {
 public:
  static RankActivity& process();

  void set_step(std::int64_t step);
  // Also counts as progress.
  void set_phase(WorkPhase phase);
  WorkPhase phase() const;
  // A unit of work done inside the current phase (an evaluation batch).
  void mark_progress();

  // Returns the collective's sequence number (1, 2, ...); complete_collective(number) when its
  // result is in (from any thread).
  std::int64_t enter_collective(CollectiveKind kind, std::int64_t bytes);
  void complete_collective(std::int64_t sequence);

  ActivitySnapshot snapshot() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    std::int64_t sequence;
    CollectiveKind kind;
    std::int64_t bytes;
    std::int64_t step;
    Clock::time_point entered;
  };

  mutable std::mutex mutex_;
  std::int64_t step_ = 0;
  WorkPhase phase_ = WorkPhase::kStartup;
  Clock::time_point last_progress_ = Clock::now();
  std::int64_t entered_ = 0;
  std::vector<Pending> pending_;  // in entering order
};

// A blocking collective: entered on construction, completed on destruction.
class CollectiveScope {
 public:
  CollectiveScope(CollectiveKind kind, std::int64_t bytes)
      : sequence_(RankActivity::process().enter_collective(kind, bytes)) {}
  ~CollectiveScope() { RankActivity::process().complete_collective(sequence_); }
  CollectiveScope(const CollectiveScope&) = delete;
  CollectiveScope& operator=(const CollectiveScope&) = delete;

 private:
  std::int64_t sequence_;
};

// Sets the phase for a block of work and restores the previous one when it ends (also by an
// exception).
class PhaseScope {
 public:
  explicit PhaseScope(WorkPhase phase) : previous_(RankActivity::process().phase()) {
    RankActivity::process().set_phase(phase);
  }
  ~PhaseScope() { RankActivity::process().set_phase(previous_); }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  WorkPhase previous_;
};

}  // namespace dtrain::dist
