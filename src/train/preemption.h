#pragma once
// Preemption notices: Slurm (and most schedulers) send SIGTERM, or a configured warning signal such
// as SIGUSR1, some time before killing a job. While a PreemptionWatch lives, those signals only set a
// flag (the async-signal-safe thing to do); the trainer polls it at step boundaries, agrees with the
// other ranks to stop, checkpoints and exits cleanly.
#include <csignal>

namespace dtrain::train {

// One per process at a time: the flag a signal handler may write is process-global.
class PreemptionWatch {
 public:
  // Installs the handlers for SIGTERM and SIGUSR1; the destructor restores the previous ones.
  PreemptionWatch();
  ~PreemptionWatch();
  PreemptionWatch(const PreemptionWatch&) = delete;
  PreemptionWatch& operator=(const PreemptionWatch&) = delete;

  // Whether one of the signals arrived since construction (in this process).
  bool requested() const;
  // The signal that arrived (0 if none), for the log.
  int signal_number() const;

 private:
  struct sigaction previous_term_ {};
  struct sigaction previous_usr1_ {};
};

}  // namespace dtrain::train
