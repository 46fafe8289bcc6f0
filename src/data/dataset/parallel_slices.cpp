#include "data/dataset/parallel_slices.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace dtrain::data {

void parallel_slices(int threads, size_t count, const std::function<void(size_t begin, size_t end)>& work) {
  const size_t slices =
      std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), count));
  const size_t per_slice = (count + slices - 1) / slices;
  std::vector<std::exception_ptr> failures(slices);
  auto run_slice = [&](size_t slice) {
    try {
      work(slice * per_slice, std::min(count, (slice + 1) * per_slice));
    } catch (...) {
      failures[slice] = std::current_exception();
    }
  };
  {
    std::vector<std::thread> workers;
    // Joins on every exit, including a failed thread start, so no thread outlives `failures`.
    struct JoinAll {
      std::vector<std::thread>& threads;
      ~JoinAll() {
        for (auto& thread : threads) thread.join();
      }
    } join_all{workers};
    for (size_t slice = 1; slice < slices; ++slice) workers.emplace_back(run_slice, slice);
    run_slice(0);  // the calling thread takes the first slice
  }
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

}  // namespace dtrain::data
