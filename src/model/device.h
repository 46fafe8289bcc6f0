#pragma once
// Where a rank computes, and the few LibTorch calls whose API differs between 1.13 and 2.x
// (autocast), wrapped here so the rest of dtrain is version-agnostic.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>

namespace dtrain::model {

// cuda:<local_rank mod GPUs> where CUDA is available, else the CPU. On the CPU, sets LibTorch's
// intra-op threads to the cores available to this rank (hardware threads / ranks on the node)
// unless OMP_NUM_THREADS says otherwise, so co-located ranks do not oversubscribe the cores.
c10::Device select_device(int local_rank, int local_size);

// Enables autocast to `dtype` (fp16 or bf16) on CUDA for its lifetime; a no-op when nullopt.
class AutocastGuard {
 public:
  explicit AutocastGuard(std::optional<c10::ScalarType> dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
};

}  // namespace dtrain::model
