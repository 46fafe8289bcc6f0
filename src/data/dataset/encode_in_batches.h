#pragma once
// The loop every `prepare` shares: read items in batches, encode each batch on several threads,
// hand the encoded items on in input order (the dataset writer is single-threaded), and log
// progress to stderr every few seconds, so stdout carries only the summary line.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset/parallel_slices.h"

namespace dtrain::data {

// "<source>: <count> <unit> (<rate> <unit>/s)" on stderr (the "prepare" logger).
void log_prepare_progress(const std::string& source, int64_t count, const std::string& unit, double seconds);

// Items handed to each thread per batch: large enough to amortize starting threads, small enough to
// keep memory flat on huge inputs.
inline constexpr size_t kItemsPerThread = 2048;

// read(Item&) -> bool (false at the end), encode(const Item&) -> Encoded (may throw: the earliest
// failing item's error is rethrown), consume(const Encoded&) in input order; `progress(seconds)` every
// 5 s. Returns the number of items.
template <class Item, class Encoded, class Read, class Encode, class Consume, class Progress>
int64_t encode_in_batches(int threads, Read&& read, Encode&& encode, Consume&& consume, Progress&& progress) {
  std::vector<Item> items(kItemsPerThread * static_cast<size_t>(std::max(threads, 1)));
  std::vector<Encoded> encoded(items.size());
  const auto start = std::chrono::steady_clock::now();
  auto next_progress = start + std::chrono::seconds(5);
  int64_t total = 0;
  for (;;) {
    size_t count = 0;
    while (count < items.size() && read(items[count])) ++count;
    if (count == 0) break;
    parallel_slices(threads, count, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) encoded[i] = encode(items[i]);
    });
    for (size_t i = 0; i < count; ++i) consume(encoded[i]);
    total += static_cast<int64_t>(count);
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_progress) {
      progress(std::chrono::duration<double>(now - start).count());
      next_progress = now + std::chrono::seconds(5);
    }
  }
  return total;
}

}  // namespace dtrain::data
