#pragma once
// Ending the whole job when one rank knows it cannot go on: the line the user reads, then
// MPI_Abort, which makes the launcher (mpirun, srun) kill every rank, stopped or blocked ones
// included. Parts of the process that hold devices register hooks to release them first (a NCCL
// communicator aborts itself so its kernels stop).
#include <functional>
#include <string>

namespace dtrain::dist {

// "dtrain: error: [rank r] <message>" on stderr, flushed.
void log_fatal(const std::string& message);

// Runs the registered hooks, then MPI_Abort(MPI_COMM_WORLD, exit_code) (or exit when MPI is not
// running). Safe to call from any thread.
[[noreturn]] void abort_job(int exit_code);

// Registers a hook for abort_job while it lives.
class AbortHook {
 public:
  explicit AbortHook(std::function<void()> hook);
  ~AbortHook();
  AbortHook(const AbortHook&) = delete;
  AbortHook& operator=(const AbortHook&) = delete;

 private:
  long id_;
};

}  // namespace dtrain::dist
