#include "dist/parameter_sync.h"

namespace dtrain::dist {

void broadcast_parameters(Communicator& comm, const std::vector<at::Tensor>& tensors, int root) {
  // detach(): the same storage, written outside autograd.
  for (const at::Tensor& tensor : tensors) comm.broadcast(tensor.detach(), root);
}

}  // namespace dtrain::dist
