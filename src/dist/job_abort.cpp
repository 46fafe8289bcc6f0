#include "dist/job_abort.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace dtrain::dist {
namespace {

struct Hooks {
  std::mutex mutex;
  std::map<long, std::function<void()>> hooks;
  long next_id = 0;
};

Hooks& hooks() {
  static Hooks registry;
  return registry;
}

bool mpi_running() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

}  // namespace

void log_fatal(const std::string& message) {
  int rank = 0;
  if (mpi_running()) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr, "dtrain: error: [rank %d] %s\n", rank, message.c_str());
  std::fflush(stderr);
}

void abort_job(int exit_code) {
  std::map<long, std::function<void()>> to_run;
  {
    std::lock_guard<std::mutex> lock(hooks().mutex);
    to_run.swap(hooks().hooks);  // each hook runs once, even if several threads abort
  }
  for (auto& [id, hook] : to_run) {
    try {
      hook();
    } catch (...) {
      // Aborting regardless: a hook that fails must not keep the job alive.
    }
  }
  if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

AbortHook::AbortHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(hooks().mutex);
  id_ = hooks().next_id++;
  hooks().hooks.emplace(id_, std::move(hook));
}

AbortHook::~AbortHook() {
  std::lock_guard<std::mutex> lock(hooks().mutex);
  hooks().hooks.erase(id_);
}

}  // namespace dtrain::dist
