#include "train/rng_state.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "common/error.h"
#include "dist/mpi_check.h"

namespace dtrain::train {

std::vector<at::Tensor> gather_cpu_rng_states(MPI_Comm comm, int root) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  at::Tensor local;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    local = generator.get_state().contiguous();
  }
  int rank = 0, size = 1;
  DTRAIN_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  DTRAIN_MPI_CHECK(MPI_Comm_size(comm, &size));
  const int bytes = static_cast<int>(local.numel());
  at::Tensor all = rank == root ? at::empty({size, bytes}, at::kByte) : at::Tensor();
  DTRAIN_MPI_CHECK(MPI_Gather(local.data_ptr(), bytes, MPI_BYTE, rank == root ? all.data_ptr() : nullptr,
                              bytes, MPI_BYTE, root, comm));
  std::vector<at::Tensor> states;
  if (rank == root) {
    for (int r = 0; r < size; ++r) states.push_back(all[r].clone());
  }
  return states;
}

void restore_cpu_rng_state(const at::Tensor& state) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.to(at::kByte).contiguous());
}

}  // namespace dtrain::train
