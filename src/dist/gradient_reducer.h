#pragma once
// Data-parallel gradient averaging, modelled on PyTorch DDP's reducer.
//
// Gradients accumulate locally in fp32 over the micro-batches of a step without communication.
// On the last micro-batch (set_sync(true)), an autograd hook on every parameter packs its final
// gradient (accumulated + incoming), already divided by the world size, into the flat buffer of
// its bucket; a bucket whose parameters are all packed is all-reduced asynchronously while
// backward continues. finish() then completes the remaining buckets, waits, and writes the
// averaged gradients back into each parameter's fp32 .grad.
//
// Buckets hold parameters in reverse registration order (roughly the order backward produces
// them) and are launched strictly in bucket order, so every rank issues identical collectives
// even when parameters receive gradients in a different order, or not at all, on some ranks.
// A parameter that gets no gradient in a step counts as zero (plus whatever it accumulated in
// earlier micro-batches); after finish() every parameter has a defined .grad. A single rank has
// nothing to average: its gradients stay in fp32 where autograd accumulates them, and no bucket is used.
//
// Embedding tables (2-D parameters at least kEmbeddingMinRows tall and 8 times taller than wide) are
// reduced by rows instead: a step's tokens touch a few hundred of a vocabulary's tens of thousands
// of rows, and a row that is zero on every rank averages to zero. In finish(), after the buckets,
// the ranks sum a mask of their nonzero rows and all-reduce only the rows nonzero somewhere, with
// the same division, dtype and sum per element as a bucket: the same result for a fraction of the
// bytes. A table whose gradient is dense (tied to an output projection) goes whole.

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dist/communicator.h"

namespace dtrain::dist {

inline constexpr std::int64_t kEmbeddingMinRows = 4096;

struct ReducerOptions {
  // Bucket capacity in MiB of communicated data (fp16 buckets therefore hold twice the elements).
  double bucket_cap_mb = 25.0;
  // Reduce in fp16 (half the bytes) or fp32 (exact, for comparison).
  bool fp16_all_reduce = true;
  // Start each bucket as soon as it is complete, during backward. Off: all buckets start in
  // finish(); better where communication competes with backward for too few CPU cores (see
  // benchmarks/README.md).
  bool overlap_with_backward = true;
};

struct ReducerStats {
  std::int64_t bytes_communicated = 0;            // payload this rank all-reduced, all steps together
  double comm_wait_seconds = 0.0;                 // time finish() blocked waiting for collectives
  std::int64_t buckets_launched_in_backward = 0;  // started by hooks, overlapping backward
  std::int64_t buckets_launched_in_finish = 0;    // started only when finish() filled them
};

class GradientReducer {
 public:
  // `parameters` in registration order (e.g. module.parameters()): fp32 leaves requiring grad,
  // all on one device. The reducer must outlive every backward it takes part in.
  GradientReducer(std::vector<at::Tensor> parameters, Communicator& comm, ReducerOptions options = {});
  // Removes the autograd hooks.
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Declares whether the next backward is the last micro-batch of an optimizer step, i.e. the
  // one whose gradients are reduced. Micro-batches before it only accumulate locally.
  void set_sync(bool sync);

  // After the synchronising backward: completes and waits for every bucket, writes the average of
  // the ranks' gradients into each .grad, and returns whether every averaged gradient is finite
  // (the same answer on all ranks, so all skip or all take the step). Resets set_sync to false.
  [[nodiscard]] bool finish();

  const ReducerStats& stats() const { return stats_; }
  // Each bucket's parameters (indices into `parameters`), in launch order.
  std::vector<std::vector<std::size_t>> bucket_layout() const;

 private:
  struct Bucket {
    std::vector<std::size_t> parameters;
    at::Tensor flat;           // communication dtype, on the parameters' device
    std::size_t unpacked = 0;  // parameters still waiting for their gradient this step
    std::unique_ptr<PendingWork> work;
  };
  struct Slot {
    std::size_t bucket = 0;
    std::int64_t offset = 0;  // in elements, within the bucket's flat buffer
    bool packed = false;
    bool by_rows = false;  // an embedding table: reduced by reduce_by_rows, in no bucket
  };

  bool single_rank() const { return inverse_world_size_ == 1.0; }
  // finish() on several ranks: completes every collective and writes the averages into .grad.
  void average_over_ranks();
  void assign_buckets(double bucket_cap_mb, at::ScalarType comm_type);
  void on_gradient(std::size_t index, const at::Tensor& incoming);
  void pack(std::size_t index, const at::Tensor& incoming);
  void launch_completed_buckets(bool in_backward);
  at::Tensor slot_view(std::size_t index) const;
  void reduce_by_rows();
  // Whether every .grad is finite on every rank (a one-element vote).
  bool all_finite_on_every_rank();

  std::vector<at::Tensor> parameters_;
  Communicator& comm_;
  double inverse_world_size_;
  bool overlap_with_backward_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> by_rows_;  // the embedding tables, in registration order
  at::ScalarType comm_type_;
  std::vector<unsigned> hook_handles_;
  std::size_t next_bucket_ = 0;
  bool sync_ = false;
  ReducerStats stats_;
};

}  // namespace dtrain::dist
