#include "dist/job_abort.h"

#include <mpi.h>

#include <cstdlib>

namespace dtrain::dist {

void abort_job(int exit_code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
    MPI_Finalize();
  }
  std::exit(exit_code);
}

}  // namespace dtrain::dist
