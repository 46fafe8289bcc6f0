#pragma once
// Fault injection, a testing aid: DTRAIN_FAULT makes a chosen rank fail in a chosen way at a
// chosen step, so that failure handling (health monitor, restarts, the non-finite policy) can be
// tried end to end. Compiled in always, inert unless the variable is set.
//
//   DTRAIN_FAULT="kind=hang_in_data,rank=1,step=5"     (several faults: separated by ';')
//
//   kind     crash          SIGKILL at the start of the step (a process lost without a word)
//            crash_in_save  SIGKILL halfway through writing the step's checkpoint
//            hang_in_data   never returns from reading the step's batches (alive, but stuck)
//            stall_save     sleeps `seconds` halfway through writing the step's checkpoint
//            nan_loss       the loss is NaN for `count` steps from `step`
//            stop           SIGSTOP at the start of the step (frozen, as on a wedged node)
//   step     the optimizer step, counted from 1 as in the logs (required)
//   rank     the rank it happens on (default: every rank); the checkpoint kinds need the saving rank, 0
//   seconds  stall_save's sleep (default 20); count: nan_loss's steps (default 1)
//   restart  only in that launch of the job: DTRAIN_RESTART_COUNT, which launch/mpirun.sh
//            --max-restarts and the Slurm template set (0, the default, is the first launch)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dtrain::faults {

enum class Kind { kCrash, kCrashInSave, kHangInData, kStallSave, kNanLoss, kStop };

struct Fault {
  Kind kind = Kind::kCrash;
  std::int64_t step = 0;
  std::optional<int> rank;  // every rank when unset
  double seconds = 20;
  std::int64_t count = 1;
  std::optional<std::int64_t> restart;  // every launch when unset
};

// Parses a DTRAIN_FAULT value; throws dtrain::Error naming the part that is wrong.
std::vector<Fault> parse(const std::string& spec);

// Reads DTRAIN_FAULT and DTRAIN_RESTART_COUNT for this process, which is rank `rank`; throws on
// a malformed value. Until then, and without the variable, nothing is injected.
void arm(int rank);

enum class Point {
  kStepStart,       // crash, stop, hang_in_data
  kCheckpointSave,  // crash_in_save, stall_save (called with the checkpoint's step)
};
// Injects what is armed for `point` at `step` on this rank (may not return).
void at(Point point, std::int64_t step);
// Whether this rank's loss at `step` is to be replaced by NaN.
bool nan_loss(std::int64_t step);

}  // namespace dtrain::faults
