#pragma once
// Starting point of data parallelism: every rank must hold the same parameters before the first
// step (as DDP ensures at construction), whatever its own initialisation produced.
#include <ATen/core/Tensor.h>

#include <vector>

#include "dist/communicator.h"

namespace dtrain::dist {

// Overwrites each tensor (contiguous, e.g. module parameters and buffers) with root's values.
void broadcast_parameters(Communicator& comm, const std::vector<at::Tensor>& tensors, int root = 0);

}  // namespace dtrain::dist
