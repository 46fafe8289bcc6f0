#include "data/loading/prefetcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

namespace dtrain::data {
namespace {

TEST(Prefetcher, DeliversItemsInOrderThenEnds) {
  int produced = 0;
  Prefetcher<int> prefetcher(
      [&]() -> std::optional<int> { return produced < 50 ? std::optional(produced++) : std::nullopt; }, 3);
  for (int expected = 0; expected < 50; ++expected) EXPECT_EQ(prefetcher.next(), expected);
  EXPECT_EQ(prefetcher.next(), std::nullopt);
  EXPECT_EQ(prefetcher.next(), std::nullopt);
}

TEST(Prefetcher, RethrowsTheProducerErrorAfterEarlierItems) {
  int produced = 0;
  Prefetcher<int> prefetcher(
      [&]() -> std::optional<int> {
        if (produced == 2) throw Error("train.h5: read failed");
        return produced++;
      },
      4);
  EXPECT_EQ(prefetcher.next(), 0);
  EXPECT_EQ(prefetcher.next(), 1);
  try {
    prefetcher.next();
    FAIL() << "expected the producer's error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "train.h5: read failed");
  }
}

TEST(Prefetcher, StaysAtMostDepthAheadAndStopsOnDestruction) {
  std::atomic<int> produced{0};
  {
    Prefetcher<int> prefetcher([&]() -> std::optional<int> { return produced++; }, 2);
    EXPECT_EQ(prefetcher.next(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // One item consumed and at most two queued (the endless producer is blocked, not spinning).
    EXPECT_LE(produced.load(), 3);
  }  // must join the blocked worker rather than hang or terminate
  const int final_count = produced.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(produced.load(), final_count);
}

}  // namespace
}  // namespace dtrain::data
