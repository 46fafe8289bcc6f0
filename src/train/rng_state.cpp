#include "train/rng_state.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include <mutex>

#include "common/error.h"
#include "dist/rank_agreement.h"

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

std::vector<at::Tensor> gather_rng_states(const dist::ProcessGroup& group, int root,
                                          const c10::Device& device) {
  const at::Tensor local = local_rng_state(device).contiguous();
  const auto* first = local.data_ptr<uint8_t>();
  std::vector<at::Tensor> states;
  for (const auto& bytes :
       dist::gather_bytes(group, std::vector<uint8_t>(first, first + local.numel()), root)) {
    states.push_back(
        at::from_blob(const_cast<uint8_t*>(bytes.data()), {static_cast<int64_t>(bytes.size())}, at::kByte)
            .clone());
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
