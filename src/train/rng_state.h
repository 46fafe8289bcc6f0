#pragma once
// The random-number state that makes a resumed run draw the same dropout masks as an uninterrupted
// one: LibTorch's default CPU generator of every rank (ranks draw from their own generators, so each
// one's state is saved). The state is the generator's serialized byte tensor, whose layout is the
// same in LibTorch 1.13 and 2.x.
#include <ATen/core/Tensor.h>
#include <mpi.h>

#include <vector>

namespace dtrain::train {

// Every rank's CPU generator state, in rank order, on `root`; other ranks get an empty vector.
// Collective over `comm`.
std::vector<at::Tensor> gather_cpu_rng_states(MPI_Comm comm, int root);

// Sets this process's CPU generator to `state` (a tensor from gather_cpu_rng_states).
void restore_cpu_rng_state(const at::Tensor& state);

}  // namespace dtrain::train
