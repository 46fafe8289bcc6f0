#pragma once
// Dropout as torch.nn.functional.dropout computes it (zero with probability p, scale the rest by
// 1 / (1 - p), identity outside training), with a faster mask on the CPU.
//
// torch's CPU dropout draws one Mersenne-Twister number per element in a serial loop: on a
// MiniLM-sized model that is about a tenth of a training step. Here each call takes one 64-bit seed
// from torch's default CPU generator (so torch.manual_seed, the saved RNG state and resume govern it as
// before) and derives every element's draw from the seed and the element's index with splitmix64, a
// counter-based generator: parallel, and the same mask at any thread count. The masks differ from
// torch's; their law does not (drop probability p to within 2^-32). Other devices use at::dropout.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace dtrain::model {

at::Tensor dropout(const at::Tensor& input, double p, bool training);

// The mask dropout multiplies by: 0 with probability `p`, else 1 / (1 - p); each element decided by
// (seed, index) alone. For tests.
at::Tensor dropout_mask(at::IntArrayRef sizes, double p, std::uint64_t seed,
                        const at::TensorOptions& options);

}  // namespace dtrain::model
