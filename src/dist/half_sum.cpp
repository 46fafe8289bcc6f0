#include "dist/half_sum.h"

#include <c10/util/Half.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dtrain::dist {

void add_half_into_portable(const std::uint16_t* in, std::uint16_t* inout, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const float sum = static_cast<float>(c10::Half(in[i], c10::Half::from_bits())) +
                      static_cast<float>(c10::Half(inout[i], c10::Half::from_bits()));
    inout[i] = c10::Half(sum).x;
  }
}

#if defined(__x86_64__)
namespace {

// F16C converts 8 halves to 8 floats (and back, rounding to nearest even) per instruction.
__attribute__((target("avx,f16c"))) void add_half_into_f16c(const std::uint16_t* in, std::uint16_t* inout,
                                                            std::size_t count) {
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 a = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    const __m256 b = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(inout + i)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(inout + i),
                     _mm256_cvtps_ph(_mm256_add_ps(a, b), _MM_FROUND_TO_NEAREST_INT));
  }
  add_half_into_portable(in + i, inout + i, count - i);
}

bool cpu_has_f16c() {
  // __builtin_cpu_init keeps the answer right even when the first call comes from a static initialiser.
  static const bool has_f16c =
      (__builtin_cpu_init(), __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c"));
  return has_f16c;
}

}  // namespace

void add_half_into(const std::uint16_t* in, std::uint16_t* inout, std::size_t count) {
  if (cpu_has_f16c()) {
    add_half_into_f16c(in, inout, count);
  } else {
    add_half_into_portable(in, inout, count);
  }
}
#else
void add_half_into(const std::uint16_t* in, std::uint16_t* inout, std::size_t count) {
  add_half_into_portable(in, inout, count);
}
#endif

}  // namespace dtrain::dist
