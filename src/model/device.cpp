#include "model/device.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
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

bool cpu_has_bf16_instructions() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    for (std::string flag; flags >> flag;) {
      if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
    }
    return false;  // every core lists the same flags
  }
  return false;
}

std::optional<c10::ScalarType> mixed_precision_dtype(const c10::Device& device, bool fp16, bool bf16) {
  if (!fp16 && !bf16) return std::nullopt;
  if (device.is_cuda()) return fp16 ? at::kHalf : at::kBFloat16;
  if (fp16) {
    spdlog::warn("fp16 needs a GPU: computing in fp32 on the CPU (bf16: true runs CPU autocast)");
    return std::nullopt;
  }
  if (cpu_has_bf16_instructions()) {
    spdlog::info(
        "bf16: CPU autocast (the CPU has bf16 instructions): matrix products in bf16; weights, "
        "optimizer, loss and metrics in fp32");
  } else {
    spdlog::warn(
        "bf16: this CPU has no bf16 instructions (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo), so "
        "CPU autocast emulates bf16 and is typically several times slower than fp32, at bf16 precision; "
        "set bf16: false to compute in fp32");
  }
  return at::kBFloat16;
}

// LibTorch 2.4+ takes the device type in the autocast calls; earlier versions had per-device variants.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
AutocastGuard::AutocastGuard(c10::DeviceType device_type, std::optional<c10::ScalarType> dtype)
    : device_type_(device_type), enabled_(dtype.has_value()) {
  if (!enabled_) return;
  previous_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_dtype(device_type_, *dtype);
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, previous_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}
#else
AutocastGuard::AutocastGuard(c10::DeviceType device_type, std::optional<c10::ScalarType> dtype)
    : device_type_(device_type), enabled_(dtype.has_value()) {
  if (!enabled_) return;
  if (device_type_ == c10::DeviceType::CPU) {
    previous_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(*dtype);
    at::autocast::set_cpu_enabled(true);
  } else {
    previous_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(*dtype);
    at::autocast::set_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (device_type_ == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(previous_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_enabled(previous_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  }
}
#endif

double measure_matmul_peak_flops(const c10::Device& device, c10::ScalarType dtype) {
  // Large enough to reach the GEMM kernels' steady state on a few CPU threads or a GPU.
  const int64_t n = device.is_cuda() ? 8192 : (at::get_num_threads() > 4 ? 2048 : 1024);
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  const at::Tensor a = at::randn({n, n}, options), b = at::randn({n, n}, options);
  at::Tensor c = at::empty({n, n}, options);
  // Reading one element waits for the device, so each timing covers the whole product.
  const auto product_seconds = [&] {
    const auto start = std::chrono::steady_clock::now();
    at::mm_out(c, a, b);
    c.select(0, 0).select(0, 0).item<double>();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  product_seconds();  // warm-up: kernel selection, page faults
  double best = 1e30, total = 0;
  for (int repeat = 0; repeat < 20 && (repeat < 2 || total < 0.2); ++repeat) {
    const double seconds = product_seconds();
    best = std::min(best, seconds), total += seconds;
  }
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / best;
}

}  // namespace dtrain::model
