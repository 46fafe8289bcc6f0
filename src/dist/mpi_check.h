#pragma once
// Checked MPI calls: a failing call becomes a dtrain::Error naming the call, its source line, MPI's
// own error string and a hint. Communicators made by dtrain use MPI_ERRORS_RETURN so that failures
// reach this check instead of aborting inside MPI.
#include <mpi.h>

namespace dtrain::dist {

// Throws dtrain::Error when `code` is not MPI_SUCCESS.
void check_mpi(int code, const char* call, const char* file, int line);

}  // namespace dtrain::dist

#define DTRAIN_MPI_CHECK(call) ::dtrain::dist::check_mpi((call), #call, __FILE__, __LINE__)
