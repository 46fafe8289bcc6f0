#pragma once
// A thread that runs communication jobs one at a time in submission order. Open MPI 4.1 makes
// progress on a non-blocking collective only while some thread is inside MPI, so an
// MPI_Iallreduce started from backward would mostly run when it is waited for; a blocking
// collective on this thread progresses while the caller computes.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace dtrain::dist {

class CommThread {
 public:
  CommThread();
  // Runs the jobs already submitted, then joins.
  ~CommThread();
  CommThread(const CommThread&) = delete;
  CommThread& operator=(const CommThread&) = delete;

  // Queues `job`; the future becomes ready when it has run and carries its exception, if any.
  std::future<void> submit(std::function<void()> job);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the queue exists
};

}  // namespace dtrain::dist
