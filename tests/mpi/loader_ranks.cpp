// ranks: 2 3
// Every rank opens the same prepared file and loads only its share; gathered over MPI the shares of
// each step must be disjoint and together equal the global batch a single rank loads, and the
// evaluation partitions must cover every sample exactly once, in order.
#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "data/loading/length_grouping.h"
#include "data/loading/loader.h"
#include "data/synthetic_dataset.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {

constexpr int64_t kSamples = 53;
constexpr int64_t kGlobalBatch = 12;  // 2 per device x 3 accumulation at 2 ranks, x 2 at 3 ranks

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// Rank 0 writes the dataset into its scratch folder; every rank gets the path after a barrier.
class SharedDataset {
 public:
  SharedDataset() {
    std::string path;
    if (world_rank() == 0) {
      scratch_ = std::make_unique<testing::ScratchDir>("dtrain-mpi-loader");
      path = (*scratch_ / "train.h5").string();
      testing::write_synthetic_dataset(path, kSamples);
    }
    auto length = static_cast<int>(path.size());
    MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
    path.resize(static_cast<size_t>(length));
    MPI_Bcast(path.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = path;
  }
  ~SharedDataset() { MPI_Barrier(MPI_COMM_WORLD); }  // nobody reads while rank 0 removes the file
  const std::filesystem::path& path() const { return path_; }

 private:
  std::unique_ptr<testing::ScratchDir> scratch_;
  std::filesystem::path path_;
};

// Every rank's values, concatenated in rank order.
std::vector<int64_t> gather_in_rank_order(const std::vector<int64_t>& mine) {
  const int size = world_size();
  const int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<size_t>(size));
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  std::vector<int> displacements(static_cast<size_t>(size), 0);
  std::partial_sum(counts.begin(), counts.end() - 1, displacements.begin() + 1);
  std::vector<int64_t> all(static_cast<size_t>(displacements.back() + counts.back()));
  MPI_Allgatherv(mine.data(), count, MPI_INT64_T, all.data(), counts.data(), displacements.data(),
                 MPI_INT64_T, MPI_COMM_WORLD);
  return all;
}

// This rank's samples of one step, after checking every row holds the sample it claims to.
std::vector<int64_t> loaded_samples(const TrainStep& step) {
  std::vector<int64_t> samples;
  for (const LoadedBatch& micro_batch : step.micro_batches) {
    for (int64_t row = 0; row < micro_batch.batch.batch_size; ++row) {
      EXPECT_EQ(testing::identify_row(micro_batch.batch, row),
                micro_batch.sample_indices[static_cast<size_t>(row)]);
    }
    samples.insert(samples.end(), micro_batch.sample_indices.begin(), micro_batch.sample_indices.end());
  }
  return samples;
}

void expect_ranks_share_the_single_rank_batches(bool group_by_length) {
  SharedDataset dataset;
  const DatasetReader reader(dataset.path());
  const TrainSampler sampler(kSamples, kGlobalBatch, SamplerOptions{21, false, group_by_length},
                             lengths_from_offsets(reader.offsets()));
  const BatchGeometry geometry{2, kGlobalBatch / (2 * world_size()), world_size()};
  const BatchGeometry single_rank{kGlobalBatch, 1, 1};
  TrainLoader reference(reader, sampler, single_rank, 0, initial_position(sampler), LoaderOptions{});
  TrainLoader loader(reader, sampler, geometry, world_rank(), initial_position(sampler), LoaderOptions{});

  std::vector<TrainStep> reference_steps;
  for (int64_t step = 0; step < 2 * sampler.steps_per_epoch(); ++step) {  // crosses an epoch boundary
    reference_steps.push_back(reference.next());
    const TrainStep mine = loader.next();
    EXPECT_EQ(mine.position, reference_steps.back().position);
    const auto all = gather_in_rank_order(loaded_samples(mine));
    EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), all.size())
        << "ranks overlap in step " << step;
    EXPECT_EQ(all, loaded_samples(reference_steps.back())) << "step " << step;
  }

  // A run resumed at another world size from the single-rank run's checkpoint continues identically.
  const auto saved = nlohmann::json(reference_steps[3].next_position).dump();
  TrainLoader resumed(reader, sampler, geometry, world_rank(),
                      nlohmann::json::parse(saved).get<TrainPosition>(), LoaderOptions{});
  for (size_t step = 4; step < reference_steps.size(); ++step) {
    EXPECT_EQ(gather_in_rank_order(loaded_samples(resumed.next())), loaded_samples(reference_steps[step]))
        << "resumed step " << step;
  }
}

TEST(LoaderRanks, StepsSplitTheSingleRankGlobalBatch) {
  expect_ranks_share_the_single_rank_batches(false);
}

TEST(LoaderRanks, StepsSplitTheSingleRankGlobalBatchWithGroupByLength) {
  expect_ranks_share_the_single_rank_batches(true);
}

TEST(LoaderRanks, EvaluationCoversEverySampleOnceInOrder) {
  SharedDataset dataset;
  const DatasetReader reader(dataset.path());
  EvalLoader loader(reader, world_rank(), world_size(), 5, LoaderOptions{});
  std::vector<int64_t> mine;
  while (auto loaded = loader.next()) {
    for (int64_t row = 0; row < loaded->batch.batch_size; ++row) {
      EXPECT_EQ(testing::identify_row(loaded->batch, row), loaded->sample_indices[static_cast<size_t>(row)]);
    }
    mine.insert(mine.end(), loaded->sample_indices.begin(), loaded->sample_indices.end());
  }
  std::vector<int64_t> every_sample(kSamples);
  std::iota(every_sample.begin(), every_sample.end(), 0);
  EXPECT_EQ(gather_in_rank_order(mine), every_sample);
}

}  // namespace
}  // namespace dtrain::data
