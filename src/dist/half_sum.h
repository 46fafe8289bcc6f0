#pragma once
// Element-wise sum of IEEE fp16 values stored as raw bits: the reduction behind the MPI fp16
// all-reduce. Each pair is added in fp32 and rounded back to nearest-even fp16.
#include <cstddef>
#include <cstdint>

namespace dtrain::dist {

// inout[i] = fp16(float(in[i]) + float(inout[i])), with the fastest kernel this CPU supports.
void add_half_into(const std::uint16_t* in, std::uint16_t* inout, std::size_t count);

// The portable kernel (c10::Half conversions, left to the compiler to vectorise); bit-identical
// to add_half_into. Exposed for tests and the benchmark.
void add_half_into_portable(const std::uint16_t* in, std::uint16_t* inout, std::size_t count);

}  // namespace dtrain::dist
