#pragma once
// NCCL collectives on CUDA tensors (built only where CUDA and NCCL are found: DTRAIN_WITH_CUDA).
#include <memory>

#include "dist/communicator.h"

namespace dtrain::dist {

// Binds this rank to CUDA device `device_index` and joins a NCCL communicator spanning `group`
// (rank 0's unique id travels over MPI). Collective calls: every rank of the group.
std::unique_ptr<Communicator> make_nccl_communicator(const ProcessGroup& group, int device_index);

}  // namespace dtrain::dist
