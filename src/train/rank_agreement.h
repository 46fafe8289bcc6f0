#pragma once
// Small control decisions shared between ranks over MPI (the world communicator), outside the data
// path: which checkpoint to resume from, whether to stop early, and waiting while rank 0 writes.
#include <mpi.h>

#include <string>

namespace dtrain::train {

// root's `value` on every rank.
std::string broadcast_string(MPI_Comm comm, const std::string& value, int root);
bool broadcast_flag(MPI_Comm comm, bool value, int root);

// A barrier that waits by polling with short sleeps: ranks waiting for rank 0 to write a
// checkpoint neither busy-spin (stealing its cores on a small machine) nor hit a timeout.
void wait_for_all_ranks(MPI_Comm comm);

}  // namespace dtrain::train
