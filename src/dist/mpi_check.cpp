#include "dist/mpi_check.h"

#include <string>

#include "common/error.h"

namespace dtrain::dist {

void check_mpi(int code, const char* call, const char* file, int line) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw Error(at_source(
      file, line,
      fmt::format("{} failed: {} (hint: every rank must make the same collective calls in the same order "
                  "with matching sizes; check that mpirun/srun started all ranks and none exited early)",
                  call, length > 0 ? std::string(text, length) : fmt::format("MPI error {}", code))));
}

}  // namespace dtrain::dist
