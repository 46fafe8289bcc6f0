#pragma once
// Where a rank computes, in which precision, and the few LibTorch calls whose API differs between
// 1.13 and 2.x (autocast), wrapped here so the rest of dtrain is version-agnostic.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>

namespace dtrain::model {

// cuda:<local_rank mod GPUs> where CUDA is available, else the CPU. On the CPU, sets LibTorch's
// intra-op threads to the cores available to this rank (hardware threads / ranks on the node)
// unless OMP_NUM_THREADS says otherwise, so co-located ranks do not oversubscribe the cores.
c10::Device select_device(int local_rank, int local_size);

// Whether this CPU has bf16 matrix instructions: avx512_bf16 or amx_bf16 among /proc/cpuinfo's flags.
bool cpu_has_bf16_instructions();

// The dtype autocast runs matrix products in for TrainingArguments' fp16/bf16 on `device`, or
// nullopt for fp32, as Trainer decides: fp16 or bf16 on CUDA; bf16 on the CPU too (CPU autocast, as
// Trainer with use_cpu), with a warning where the CPU has no bf16 instructions (it then emulates
// bf16, slower than fp32). fp16 on the CPU stays fp32, with a warning. Logs what it chose.
std::optional<c10::ScalarType> mixed_precision_dtype(const c10::Device& device, bool fp16, bool bf16);

// Enables autocast to `dtype` (fp16 or bf16) on `device_type` (CUDA or CPU) for its lifetime; a
// no-op when nullopt. Weights, gradients and the optimizer stay fp32; matrix products run in
// `dtype`, and autocast's fp32 list keeps softmax-cross-entropy and MSE losses in fp32.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device_type, std::optional<c10::ScalarType> dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_type_;
  bool enabled_;
  bool previous_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

// FLOP/s of a large square matrix product in `dtype` on `device`, on this thread's intra-op
// threads: the best of a few repetitions after a warm-up, about a quarter of a second in all. The
// peak that MFU divides by.
double measure_matmul_peak_flops(const c10::Device& device, c10::ScalarType dtype);

}  // namespace dtrain::model
