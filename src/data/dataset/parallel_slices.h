#pragma once
// Runs work over [0, count) split into one contiguous slice per thread, and rethrows the exception
// of the earliest failing slice: callers that stop a slice at its first error therefore always
// report the earliest bad item, whatever the thread timing.
#include <cstddef>
#include <functional>

namespace dtrain::data {

void parallel_slices(int threads, size_t count, const std::function<void(size_t begin, size_t end)>& work);

}  // namespace dtrain::data
