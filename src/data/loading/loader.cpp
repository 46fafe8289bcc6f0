#include "data/loading/loader.h"

#include <H5pubconf.h>

#include <numeric>

#include "data/loading/eval_partition.h"

// The prefetch threads call HDF5 while the training thread may use it too (opening the evaluation
// set, another loader); only a thread-safe HDF5 build (Debian's is) serialises that safely.
#ifndef H5_HAVE_THREADSAFE
#error "dtrain's loaders need HDF5 built with --enable-threadsafe"
#endif

namespace dtrain::data {
namespace {

LoadedBatch load(const DatasetReader& reader, std::vector<int64_t> sample_indices,
                 const CollateOptions& options) {
  const SampleBlock block = reader.read(sample_indices);
  return {std::move(sample_indices), collate(block, options)};
}

// Produces this rank's steps in order; lives on the prefetch thread only.
class TrainStepProducer {
 public:
  TrainStepProducer(const DatasetReader& reader, const TrainSampler& sampler, const BatchGeometry& geometry,
                    int rank, const TrainPosition& start, const CollateOptions& options)
      : reader_(reader),
        sampler_(sampler),
        geometry_(geometry),
        rank_(rank),
        position_(start),
        options_(options) {}

  std::optional<TrainStep> operator()() {
    if (order_epoch_ != position_.epoch) {
      order_ = sampler_.epoch_order(position_.epoch);
      order_epoch_ = position_.epoch;
    }
    TrainStep step;
    step.position = position_;
    step.step_in_epoch = next_step(sampler_, position_);
    const IndexRange positions = sampler_.step_positions(step.step_in_epoch);
    step.global_samples = positions.size();
    for (const IndexRange& piece : rank_micro_batches(positions.size(), geometry_, rank_)) {
      const auto first = order_.begin() + positions.begin + piece.begin;
      step.micro_batches.push_back(load(reader_, {first, first + piece.size()}, options_));
    }
    position_ = advance(sampler_, position_);
    step.next_position = position_;
    return step;
  }

 private:
  const DatasetReader& reader_;
  const TrainSampler& sampler_;
  const BatchGeometry geometry_;
  const int rank_;
  TrainPosition position_;
  const CollateOptions options_;
  std::vector<int64_t> order_;  // the epoch order of order_epoch_, computed once per epoch
  int64_t order_epoch_ = -1;
};

}  // namespace

TrainLoader::TrainLoader(const DatasetReader& reader, const TrainSampler& sampler,
                         const BatchGeometry& geometry, int rank, const TrainPosition& start,
                         const LoaderOptions& options) {
  geometry.validate();
  DTRAIN_ASSERT(rank >= 0 && rank < geometry.world_size, "rank {} of world size {}", rank,
                geometry.world_size);
  DTRAIN_ASSERT(geometry.global_batch_size() == sampler.global_batch_size(),
                "batch geometry gives global batch {} but the sampler uses {}", geometry.global_batch_size(),
                sampler.global_batch_size());
  DTRAIN_ASSERT(reader.num_samples() == sampler.num_samples(), "sampler for {} samples, dataset has {}",
                sampler.num_samples(), reader.num_samples());
  next_step(sampler, start);  // reject a foreign position here, on the caller's thread
  prefetcher_ = std::make_unique<Prefetcher<TrainStep>>(
      TrainStepProducer(reader, sampler, geometry, rank, start, options.collate), options.prefetch_depth);
}

TrainStep TrainLoader::next() {
  return *prefetcher_->next();
}

EvalLoader::EvalLoader(const DatasetReader& reader, int rank, int world_size, int64_t batch_size,
                       const LoaderOptions& options)
    : partition_(eval_partition(reader.num_samples(), batch_size, rank, world_size)),
      batches_(eval_batches(partition_, batch_size)) {
  auto produce = [&reader, batches = batches_, next = size_t{0},
                  collate = options.collate]() mutable -> std::optional<LoadedBatch> {
    if (next == batches.size()) return std::nullopt;
    const IndexRange& range = batches[next++];
    std::vector<int64_t> indices(static_cast<size_t>(range.size()));
    std::iota(indices.begin(), indices.end(), range.begin);
    return load(reader, std::move(indices), collate);
  };
  prefetcher_ = std::make_unique<Prefetcher<LoadedBatch>>(std::move(produce), options.prefetch_depth);
}

std::optional<LoadedBatch> EvalLoader::next() {
  return prefetcher_->next();
}

}  // namespace dtrain::data
