#include "data/loading/train_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "common/error.h"

namespace dtrain::data {
namespace {

// The samples each rank trains on in one step, micro-batch by micro-batch, as the loader picks them.
std::vector<std::vector<int64_t>> rank_samples(const std::vector<int64_t>& order, const IndexRange& step,
                                               const BatchGeometry& geometry, int rank) {
  std::vector<std::vector<int64_t>> micro_batches;
  for (const IndexRange& piece : rank_micro_batches(step.size(), geometry, rank)) {
    micro_batches.emplace_back(order.begin() + step.begin + piece.begin,
                               order.begin() + step.begin + piece.end);
  }
  return micro_batches;
}

// Every step's global batch as the ranks of `geometry` together see it (rank 0's samples first),
// checking on the way that ranks never share a sample and micro-batches respect the device batch.
std::vector<std::vector<int64_t>> global_batches(const TrainSampler& sampler, const BatchGeometry& geometry,
                                                 int64_t epoch) {
  const auto order = sampler.epoch_order(epoch);
  std::vector<std::vector<int64_t>> steps;
  for (int64_t step = 0; step < sampler.steps_per_epoch(); ++step) {
    const IndexRange positions = sampler.step_positions(step);
    std::vector<int64_t> global;
    for (int rank = 0; rank < geometry.world_size; ++rank) {
      const auto micro_batches = rank_samples(order, positions, geometry, rank);
      EXPECT_LE(static_cast<int64_t>(micro_batches.size()), geometry.gradient_accumulation_steps);
      for (const auto& micro_batch : micro_batches) {
        EXPECT_FALSE(micro_batch.empty());
        EXPECT_LE(static_cast<int64_t>(micro_batch.size()), geometry.per_device_batch_size);
        global.insert(global.end(), micro_batch.begin(), micro_batch.end());
      }
    }
    EXPECT_EQ(static_cast<int64_t>(std::set<int64_t>(global.begin(), global.end()).size()), positions.size())
        << "ranks overlap or miss samples in step " << step;
    steps.push_back(std::move(global));
  }
  return steps;
}

std::vector<int64_t> sorted(std::vector<int64_t> values) {
  std::sort(values.begin(), values.end());
  return values;
}

std::vector<int64_t> iota(int64_t count) {
  std::vector<int64_t> values(static_cast<size_t>(count));
  std::iota(values.begin(), values.end(), 0);
  return values;
}

TEST(TrainSampler, EachEpochCoversEverySampleOnce) {
  for (int64_t samples : {1, 7, 24, 25, 103}) {
    const TrainSampler sampler(samples, 8, SamplerOptions{});
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      std::vector<int64_t> seen;
      for (const auto& step : global_batches(sampler, BatchGeometry{2, 2, 2}, epoch)) {
        seen.insert(seen.end(), step.begin(), step.end());
      }
      EXPECT_EQ(sorted(seen), iota(samples)) << samples << " samples, epoch " << epoch;
    }
  }
}

TEST(TrainSampler, GlobalBatchesDoNotDependOnWorldSizeOrAccumulation) {
  // Global batch 60 split every way it can be for world sizes 1..5 and several accumulation settings.
  constexpr int64_t kGlobal = 60;
  for (bool drop_last : {false, true}) {
    const TrainSampler sampler(437, kGlobal, SamplerOptions{9, drop_last, false});
    const auto reference = global_batches(sampler, BatchGeometry{kGlobal, 1, 1}, 2);
    for (int world = 1; world <= 5; ++world) {
      for (int64_t accumulation : {1, 2, 3, 4}) {
        if (kGlobal % (world * accumulation) != 0) continue;
        const BatchGeometry geometry{kGlobal / (world * accumulation), accumulation, world};
        ASSERT_EQ(geometry.global_batch_size(), kGlobal);
        const auto steps = global_batches(sampler, geometry, 2);
        ASSERT_EQ(steps.size(), reference.size());
        for (size_t step = 0; step < steps.size(); ++step) {
          // Same samples in the same order: rank-major concatenation is the epoch order itself.
          EXPECT_EQ(steps[step], reference[step]) << world << " ranks, accumulation " << accumulation;
        }
      }
    }
  }
}

TEST(TrainSampler, SameSeedAndEpochGiveTheSameOrderOtherwiseDifferent) {
  const TrainSampler sampler(500, 16, SamplerOptions{3, false, false});
  EXPECT_EQ(sampler.epoch_order(4), TrainSampler(500, 16, SamplerOptions{3, false, false}).epoch_order(4));
  EXPECT_NE(sampler.epoch_order(0), sampler.epoch_order(1));
  EXPECT_NE(sampler.epoch_order(0), TrainSampler(500, 16, SamplerOptions{4, false, false}).epoch_order(0));
  EXPECT_NE(sampler.epoch_order(0), iota(500));
}

TEST(TrainSampler, WithoutDropLastTheLastStepHoldsTheRemainderSplitOverRanks) {
  const TrainSampler sampler(23, 12, SamplerOptions{});
  EXPECT_EQ(sampler.steps_per_epoch(), 2);
  EXPECT_EQ(sampler.samples_per_epoch(), 23);
  EXPECT_EQ(sampler.step_positions(0), (IndexRange{0, 12}));
  EXPECT_EQ(sampler.step_positions(1), (IndexRange{12, 23}));
  // 11 samples over 3 ranks with per-device 2 x accumulation 2: blocks of 4, 4, 3.
  const BatchGeometry geometry{2, 2, 3};
  EXPECT_EQ(rank_micro_batches(11, geometry, 0), (std::vector<IndexRange>{{0, 2}, {2, 4}}));
  EXPECT_EQ(rank_micro_batches(11, geometry, 1), (std::vector<IndexRange>{{4, 6}, {6, 8}}));
  EXPECT_EQ(rank_micro_batches(11, geometry, 2), (std::vector<IndexRange>{{8, 10}, {10, 11}}));
  // A remainder of 1 leaves two ranks without any micro-batch.
  EXPECT_EQ(rank_micro_batches(1, geometry, 0), (std::vector<IndexRange>{{0, 1}}));
  EXPECT_TRUE(rank_micro_batches(1, geometry, 1).empty());
  EXPECT_TRUE(rank_micro_batches(1, geometry, 2).empty());
}

TEST(TrainSampler, DropLastSkipsTheIncompleteFinalStep) {
  const TrainSampler sampler(23, 12, SamplerOptions{5, true, false});
  EXPECT_EQ(sampler.steps_per_epoch(), 1);
  EXPECT_EQ(sampler.samples_per_epoch(), 12);
  const auto steps = global_batches(sampler, BatchGeometry{3, 2, 2}, 0);
  ASSERT_EQ(steps.size(), 1u);
  const auto order = sampler.epoch_order(0);
  EXPECT_EQ(steps[0], std::vector<int64_t>(order.begin(), order.begin() + 12));
  EXPECT_EQ(TrainSampler(24, 12, SamplerOptions{5, true, false}).steps_per_epoch(), 2);
}

TEST(TrainSampler, RejectsSettingsThatLeaveNoStep) {
  EXPECT_THROW(TrainSampler(0, 4, SamplerOptions{}), Error);
  EXPECT_THROW(TrainSampler(3, 4, SamplerOptions{1, true, false}), Error);
  EXPECT_NO_THROW(TrainSampler(3, 4, SamplerOptions{1, false, false}));
  EXPECT_THROW((BatchGeometry{0, 1, 1}.validate()), Error);
  EXPECT_THROW((BatchGeometry{1, 0, 1}.validate()), Error);
}

TEST(TrainSampler, GroupByLengthKeepsWorldSizeInvarianceAndCoverage) {
  std::vector<int64_t> lengths(300);
  for (size_t i = 0; i < lengths.size(); ++i) lengths[i] = static_cast<int64_t>((i * 37) % 61 + 3);
  const TrainSampler sampler(300, 12, SamplerOptions{11, false, true}, lengths);
  const auto reference = global_batches(sampler, BatchGeometry{12, 1, 1}, 1);
  EXPECT_EQ(global_batches(sampler, BatchGeometry{2, 2, 3}, 1), reference);
  std::vector<int64_t> seen;
  for (const auto& step : reference) seen.insert(seen.end(), step.begin(), step.end());
  EXPECT_EQ(sorted(seen), iota(300));
  EXPECT_EQ(lengths[static_cast<size_t>(reference[0][0])], *std::max_element(lengths.begin(), lengths.end()));
}

}  // namespace
}  // namespace dtrain::data
