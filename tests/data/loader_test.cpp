#include "data/loading/loader.h"

#include <gtest/gtest.h>

#include <numeric>

#include "data/loading/length_grouping.h"
#include "data/synthetic_dataset.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {

constexpr int64_t kSamples = 45;

class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new testing::ScratchDir("dtrain-loader");
    testing::write_synthetic_dataset(*scratch_ / "train.h5", kSamples);
  }
  static void TearDownTestSuite() { delete scratch_; }
  static std::filesystem::path dataset() { return *scratch_ / "train.h5"; }

  // Every row must hold exactly the sample the loader says it holds.
  static void expect_rows_match(const LoadedBatch& loaded) {
    ASSERT_EQ(loaded.batch.batch_size, static_cast<int64_t>(loaded.sample_indices.size()));
    for (int64_t row = 0; row < loaded.batch.batch_size; ++row) {
      EXPECT_EQ(testing::identify_row(loaded.batch, row), loaded.sample_indices[static_cast<size_t>(row)]);
    }
  }

  static inline testing::ScratchDir* scratch_ = nullptr;
};

TEST_F(LoaderTest, TrainStepsFollowTheSamplerAcrossEpochs) {
  const DatasetReader reader(dataset());
  const TrainSampler sampler(kSamples, 8, SamplerOptions{5, false, false});
  const BatchGeometry geometry{4, 2, 1};
  TrainLoader loader(reader, sampler, geometry, 0, initial_position(sampler), LoaderOptions{});
  TrainPosition position = initial_position(sampler);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    const auto order = sampler.epoch_order(epoch);
    for (int64_t step = 0; step < sampler.steps_per_epoch(); ++step) {
      const TrainStep loaded = loader.next();
      EXPECT_EQ(loaded.position, position);
      EXPECT_EQ(loaded.step_in_epoch, step);
      position = advance(sampler, position);
      EXPECT_EQ(loaded.next_position, position);
      const IndexRange positions = sampler.step_positions(step);
      EXPECT_EQ(loaded.global_samples, positions.size());
      std::vector<int64_t> samples;
      for (const LoadedBatch& micro_batch : loaded.micro_batches) {
        expect_rows_match(micro_batch);
        EXPECT_LE(micro_batch.batch.batch_size, 4);
        samples.insert(samples.end(), micro_batch.sample_indices.begin(), micro_batch.sample_indices.end());
      }
      EXPECT_EQ(samples,
                std::vector<int64_t>(order.begin() + positions.begin, order.begin() + positions.end));
    }
  }
}

TEST_F(LoaderTest, ResumedLoaderContinuesTheSameStream) {
  const DatasetReader reader(dataset());
  const TrainSampler sampler(kSamples, 6, SamplerOptions{8, true, true},
                             lengths_from_offsets(reader.offsets()));
  TrainLoader uninterrupted(reader, sampler, BatchGeometry{3, 1, 2}, 1, initial_position(sampler),
                            LoaderOptions{});
  for (int i = 0; i < 4; ++i) uninterrupted.next();
  const TrainStep fourth = uninterrupted.next();
  TrainLoader resumed(reader, sampler, BatchGeometry{3, 1, 2}, 1, fourth.position, LoaderOptions{});
  for (int i = 0; i < 10; ++i) {
    const TrainStep expected = i == 0 ? fourth : uninterrupted.next();
    const TrainStep actual = resumed.next();
    EXPECT_EQ(actual.position, expected.position);
    ASSERT_EQ(actual.micro_batches.size(), expected.micro_batches.size());
    for (size_t m = 0; m < actual.micro_batches.size(); ++m) {
      EXPECT_EQ(actual.micro_batches[m].sample_indices, expected.micro_batches[m].sample_indices);
      EXPECT_EQ(actual.micro_batches[m].batch.input_ids, expected.micro_batches[m].batch.input_ids);
    }
  }
}

TEST_F(LoaderTest, RejectsAPositionFromAnotherRun) {
  const DatasetReader reader(dataset());
  const TrainSampler sampler(kSamples, 8, SamplerOptions{5, false, false});
  EXPECT_THROW(
      TrainLoader(reader, sampler, BatchGeometry{8, 1, 1}, 0, TrainPosition{0, 0, 6, 8}, LoaderOptions{}),
      Error);
}

TEST_F(LoaderTest, EvalBatchesCoverTheRankPartitionInOrder) {
  const DatasetReader reader(dataset());
  for (int world :
       {1, 2, 3, 4, static_cast<int>(kSamples) + 2}) {  // the last leaves two ranks without samples
    std::vector<int64_t> seen;
    for (int rank = 0; rank < world; ++rank) {
      EvalLoader loader(reader, rank, world, 4,
                        LoaderOptions{CollateOptions{testing::kSyntheticPadId, 8}, 2});
      int64_t batches = 0;
      while (auto loaded = loader.next()) {
        expect_rows_match(*loaded);
        EXPECT_EQ(loaded->batch.seq_len % 8, 0);
        seen.insert(seen.end(), loaded->sample_indices.begin(), loaded->sample_indices.end());
        ++batches;
      }
      EXPECT_EQ(batches, loader.num_batches());
    }
    std::vector<int64_t> all(kSamples);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(seen, all) << world << " ranks";
  }
}

}  // namespace
}  // namespace dtrain::data
