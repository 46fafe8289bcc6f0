#include "model/device.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace dtrain::model {

c10::Device select_device(int local_rank, int local_size) {
  if (torch::cuda::is_available()) {
    const auto gpus = static_cast<int>(torch::cuda::device_count());
    return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(local_rank % gpus));
  }
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(std::max(1, cores / std::max(1, local_size)));
  }
  return c10::Device(c10::DeviceType::CPU);
}

// LibTorch 2.4+ takes the device type in the autocast calls; earlier versions had CUDA-only variants.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
AutocastGuard::AutocastGuard(std::optional<c10::ScalarType> dtype) : enabled_(dtype.has_value()) {
  if (!enabled_) return;
  previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
  at::autocast::set_autocast_dtype(at::kCUDA, *dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(at::kCUDA, previous_);
}
#else
AutocastGuard::AutocastGuard(std::optional<c10::ScalarType> dtype) : enabled_(dtype.has_value()) {
  if (!enabled_) return;
  previous_ = at::autocast::is_enabled();
  at::autocast::set_autocast_gpu_dtype(*dtype);
  at::autocast::set_enabled(true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_enabled(previous_);
}
#endif

}  // namespace dtrain::model
