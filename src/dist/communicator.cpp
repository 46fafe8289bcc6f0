#include "dist/communicator.h"

#include "common/error.h"
#include "dist/mpi_communicator.h"
#include "dist/nccl_communicator.h"

namespace dtrain::dist {

std::unique_ptr<Communicator> make_communicator(const ProcessGroup& group, const at::Device& device) {
  if (device.is_cuda()) {
#ifdef DTRAIN_WITH_CUDA
    return make_nccl_communicator(group, device.has_index() ? device.index() : group.local_rank());
#else
    DTRAIN_FAIL("device {} needs the NCCL backend, but this dtrain was built without CUDA/NCCL",
                device.str());
#endif
  }
  DTRAIN_CHECK(device.is_cpu(), "no communication backend for device {} (use cpu or cuda)", device.str());
  return std::make_unique<MpiCommunicator>(group);
}

}  // namespace dtrain::dist
