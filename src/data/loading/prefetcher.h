#pragma once
// Runs a producer on a background thread, keeping up to `depth` results ready so the consumer
// (the training loop) never waits on I/O. The thread is joined on destruction; an exception thrown
// by the producer is rethrown by next() after the results produced before it.
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "common/error.h"

namespace dtrain::data {

template <typename T>
class Prefetcher {
 public:
  // produce() returns the next item, or nullopt at the end of the stream.
  Prefetcher(std::function<std::optional<T>()> produce, size_t depth)
      : produce_(std::move(produce)), depth_(depth) {
    DTRAIN_ASSERT(depth_ > 0, "prefetch depth must be positive");
    worker_ = std::thread([this] { run(); });
  }

  ~Prefetcher() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    space_available_.notify_all();
    worker_.join();
  }

  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Blocks until the next item is ready; nullopt once the stream has ended.
  std::optional<T> next() {
    std::unique_lock lock(mutex_);
    item_available_.wait(lock, [this] { return !ready_.empty() || failure_ || finished_; });
    if (ready_.empty()) {
      if (failure_) std::rethrow_exception(failure_);
      return std::nullopt;
    }
    T item = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    space_available_.notify_one();
    return item;
  }

 private:
  void run() {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        space_available_.wait(lock, [this] { return stopping_ || ready_.size() < depth_; });
        if (stopping_) return;
      }
      std::optional<T> item;
      std::exception_ptr failure;
      try {
        item = produce_();
      } catch (...) {
        failure = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        if (failure) {
          failure_ = failure;
        } else if (item) {
          ready_.push_back(std::move(*item));
        } else {
          finished_ = true;
        }
      }
      item_available_.notify_one();
      if (failure || !item) return;
    }
  }

  std::function<std::optional<T>()> produce_;
  const size_t depth_;
  std::mutex mutex_;
  std::condition_variable space_available_;
  std::condition_variable item_available_;
  std::deque<T> ready_;
  std::exception_ptr failure_;
  bool finished_ = false;
  bool stopping_ = false;
  std::thread worker_;  // last: starts only after every member it uses exists
};

}  // namespace dtrain::data
