#include "train/rng_state.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include <mutex>

#include "common/error.h"
#include "dist/mpi_check.h"
#include "dist/rank_activity.h"

namespace dtrain::train {
namespace {

// The default generator a device's random ops draw from (CUDA's through LibTorch's CUDA hooks, so
// this file builds against CPU-only LibTorch too).
at::Tensor generator_state(const c10::Device& device) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_generator_state(const c10::Device& device, const at::Tensor& state) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

at::Tensor local_rng_state(const c10::Device& device) {
  const at::Tensor cpu = generator_state(at::kCPU);
  return device.is_cuda() ? at::cat({cpu, generator_state(device)}) : cpu;
}

}  // namespace

std::vector<at::Tensor> gather_rng_states(MPI_Comm comm, int root, const c10::Device& device) {
  const at::Tensor local = local_rng_state(device).contiguous();
  int rank = 0, size = 1;
  DTRAIN_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  DTRAIN_MPI_CHECK(MPI_Comm_size(comm, &size));
  const int bytes = static_cast<int>(local.numel());
  at::Tensor all = rank == root ? at::empty({size, bytes}, at::kByte) : at::Tensor();
  const dist::CollectiveScope collective(dist::CollectiveKind::kGather, bytes);
  DTRAIN_MPI_CHECK(MPI_Gather(local.data_ptr(), bytes, MPI_BYTE, rank == root ? all.data_ptr() : nullptr,
                              bytes, MPI_BYTE, root, comm));
  std::vector<at::Tensor> states;
  if (rank == root) {
    for (int r = 0; r < size; ++r) states.push_back(all[r].clone());
  }
  return states;
}

bool restore_rng_state(const at::Tensor& state, const c10::Device& device) {
  const at::Tensor bytes = state.to(at::kByte).contiguous();
  const int64_t cpu_bytes = generator_state(at::kCPU).numel();
  DTRAIN_CHECK(bytes.numel() >= cpu_bytes, "saved RNG state has {} bytes, fewer than the CPU generator's {}",
               bytes.numel(), cpu_bytes);
  set_generator_state(at::kCPU, bytes.slice(0, 0, cpu_bytes).clone());
  if (bytes.numel() != local_rng_state(device).numel()) return false;
  if (device.is_cuda()) set_generator_state(device, bytes.slice(0, cpu_bytes).clone());
  return true;
}

}  // namespace dtrain::train
