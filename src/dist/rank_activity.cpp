#include "dist/rank_activity.h"

#include <algorithm>

namespace dtrain::dist {

const char* phase_name(WorkPhase phase) {
  switch (phase) {
    case WorkPhase::kStartup:
      return "startup";
    case WorkPhase::kData:
      return "data";
    case WorkPhase::kForward:
      return "forward";
    case WorkPhase::kBackward:
      return "backward";
    case WorkPhase::kCommunication:
      return "communication";
    case WorkPhase::kOptimizer:
      return "optimizer";
    case WorkPhase::kEvaluation:
      return "evaluation";
    case WorkPhase::kCheckpoint:
      return "checkpoint";
    case WorkPhase::kFinishing:
      return "finishing";
    case WorkPhase::kFinished:
      return "finished";
  }
  return "unknown";
}

bool phase_excuses_waiting(WorkPhase phase) {
  return phase == WorkPhase::kCheckpoint || phase == WorkPhase::kFinishing;
}

const char* collective_name(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kAllReduce:
      return "all_reduce";
    case CollectiveKind::kBroadcast:
      return "broadcast";
    case CollectiveKind::kBarrier:
      return "barrier";
    case CollectiveKind::kAllGather:
      return "all_gather";
    case CollectiveKind::kGather:
      return "gather";
  }
  return "unknown";
}

RankActivity& RankActivity::process() {
  static RankActivity activity;
  return activity;
}

void RankActivity::set_step(std::int64_t step) {
  std::lock_guard<std::mutex> lock(mutex_);
  step_ = step;
}

void RankActivity::set_phase(WorkPhase phase) {
  std::lock_guard<std::mutex> lock(mutex_);
  phase_ = phase;
  last_progress_ = Clock::now();
}

WorkPhase RankActivity::phase() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return phase_;
}

void RankActivity::mark_progress() {
  std::lock_guard<std::mutex> lock(mutex_);
  last_progress_ = Clock::now();
}

std::int64_t RankActivity::enter_collective(CollectiveKind kind, std::int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.push_back({++entered_, kind, bytes, step_, Clock::now()});
  return entered_;
}

void RankActivity::complete_collective(std::int64_t sequence) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = std::find_if(pending_.begin(), pending_.end(), [sequence](const Pending& pending) {
    return pending.sequence == sequence;
  });
  if (found != pending_.end()) pending_.erase(found);
}

ActivitySnapshot RankActivity::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::time_point now = Clock::now();
  ActivitySnapshot snapshot;
  snapshot.step = step_;
  snapshot.phase = phase_;
  snapshot.seconds_without_progress = std::chrono::duration<double>(now - last_progress_).count();
  snapshot.collectives_entered = entered_;
  if (!pending_.empty()) {
    const Pending& oldest = pending_.front();
    snapshot.waiting_sequence = oldest.sequence;
    snapshot.waiting_kind = oldest.kind;
    snapshot.waiting_bytes = oldest.bytes;
    snapshot.waiting_step = oldest.step;
    snapshot.waiting_seconds = std::chrono::duration<double>(now - oldest.entered).count();
  }
  return snapshot;
}

}  // namespace dtrain::dist
