#pragma once
// The collectives the gradient reducer and the trainer use, independent of the backend (MPI on
// CPU tensors, NCCL on CUDA tensors). Every rank must issue the same calls in the same order.
#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace dtrain::dist {

class ProcessGroup;

// An operation in flight. wait() returns once its result may be used by the caller's subsequent
// work and rethrows the operation's error, if any.
class PendingWork {
 public:
  virtual ~PendingWork() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Starts summing a contiguous fp16 or fp32 tensor in place across ranks. The caller must not
  // touch the tensor until wait() returns.
  virtual std::unique_ptr<PendingWork> start_all_reduce_sum(const at::Tensor& tensor) = 0;
  void all_reduce_sum(const at::Tensor& tensor) { start_all_reduce_sum(tensor)->wait(); }

  // Overwrites a contiguous tensor on every rank with root's values.
  virtual void broadcast(const at::Tensor& tensor, int root) = 0;
  virtual void barrier() = 0;

  // For metrics: every rank's `local` (the same length on all ranks) concatenated in rank order.
  virtual std::vector<double> all_gather(const std::vector<double>& local) = 0;
  // As all_gather, but only `root` receives the values; other ranks get an empty vector.
  virtual std::vector<double> gather(const std::vector<double>& local, int root) = 0;
};

// NCCL for CUDA devices (in builds with CUDA), MPI for the CPU.
std::unique_ptr<Communicator> make_communicator(const ProcessGroup& group, const at::Device& device);

}  // namespace dtrain::dist
