#include "app/distributed_command.h"

#include <exception>

#include "dist/job_abort.h"
#include "dist/process_group.h"

namespace dtrain::app {

void run_distributed(const std::function<void(const dist::ProcessGroup&)>& body) {
  dist::ProcessGroup group;
  try {
    body(group);
  } catch (const std::exception& e) {
    if (group.size() == 1) throw;  // main() reports it; MPI finalises normally
    dist::log_fatal(e.what());
    dist::abort_job(1);
  }
}

}  // namespace dtrain::app
