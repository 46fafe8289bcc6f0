#pragma once
// The random-number state that makes a resumed run draw the same dropout masks as an uninterrupted
// one: LibTorch's default CPU generator and, when the rank trains on a GPU, that GPU's default CUDA
// generator. Every rank's state is saved (ranks draw from their own generators). A rank's state is
// one byte tensor: the CPU generator's serialized state, followed by the CUDA generator's. Both
// layouts are the same in LibTorch 1.13 and 2.x.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <vector>

namespace dtrain::dist {
class ProcessGroup;
}

namespace dtrain::train {

// Every rank's generator state, in rank order, on `root`; other ranks get an empty vector.
// Collective over the group.
std::vector<at::Tensor> gather_rng_states(const dist::ProcessGroup& group, int root,
                                          const c10::Device& device);

// Restores this rank's generators from `state` (one entry of gather_rng_states). A state saved on
// another kind of device restores the CPU generator only; returns false then.
bool restore_rng_state(const at::Tensor& state, const c10::Device& device);

}  // namespace dtrain::train
