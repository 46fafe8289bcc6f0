#pragma once
// Per-rank data loading. Each rank reads only its own samples (DatasetReader::read of the indices the
// sampler or partition assigns it) and collates them on a background thread, a few steps ahead of
// the training loop. The reader and sampler must outlive the loader.
#include <cstdint>
#include <memory>
#include <vector>

#include "data/dataset/dataset_reader.h"
#include "data/loading/collate.h"
#include "data/loading/index_range.h"
#include "data/loading/prefetcher.h"
#include "data/loading/train_position.h"
#include "data/loading/train_sampler.h"

namespace dtrain::data {

// A collated batch and the dataset indices of its rows.
struct LoadedBatch {
  std::vector<int64_t> sample_indices;
  Batch batch;
};

// This rank's share of one optimizer step.
struct TrainStep {
  TrainPosition position;       // where the step starts
  TrainPosition next_position;  // after it: what a checkpoint taken after this step stores
  int64_t step_in_epoch = 0;
  int64_t global_samples = 0;  // samples in the whole global batch (all ranks), for loss averaging
  // This rank's micro-batches: gradient_accumulation_steps of them in a full step; fewer or none in
  // a short final step (see train_sampler.h). The rank must still join the step's gradient sync.
  std::vector<LoadedBatch> micro_batches;
};

struct LoaderOptions {
  CollateOptions collate;
  size_t prefetch_depth = 4;  // steps (training) or batches (evaluation) kept ready
};

// The endless stream of this rank's training steps from `start` on, across epochs; the caller stops
// after its last step (num_train_epochs or max_steps).
class TrainLoader {
 public:
  // Throws dtrain::Error when `start` does not belong to this sampler (see next_step()).
  TrainLoader(const DatasetReader& reader, const TrainSampler& sampler, const BatchGeometry& geometry,
              int rank, const TrainPosition& start, const LoaderOptions& options);
  // Blocks until the next step is ready; rethrows a read error from the background thread.
  TrainStep next();

 private:
  std::unique_ptr<Prefetcher<TrainStep>> prefetcher_;
};

// This rank's evaluation partition (eval_partition.h) in batches of batch_size, in dataset order.
class EvalLoader {
 public:
  EvalLoader(const DatasetReader& reader, int rank, int world_size, int64_t batch_size,
             const LoaderOptions& options);
  int64_t num_batches() const { return static_cast<int64_t>(batches_.size()); }
  const IndexRange& partition() const { return partition_; }
  // The next batch, or nullopt after the last one.
  std::optional<LoadedBatch> next();

 private:
  IndexRange partition_;
  std::vector<IndexRange> batches_;
  std::unique_ptr<Prefetcher<LoadedBatch>> prefetcher_;
};

}  // namespace dtrain::data
