#include "data/loading/train_position.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/loading/train_sampler.h"

namespace dtrain::data {
namespace {

// The global batches (as sample lists) of `steps` steps starting at `position`.
std::vector<std::vector<int64_t>> run_steps(const TrainSampler& sampler, TrainPosition& position, int steps) {
  std::vector<std::vector<int64_t>> batches;
  for (int i = 0; i < steps; ++i) {
    const auto order = sampler.epoch_order(position.epoch);
    const IndexRange positions = sampler.step_positions(next_step(sampler, position));
    batches.emplace_back(order.begin() + positions.begin, order.begin() + positions.end);
    position = advance(sampler, position);
  }
  return batches;
}

TEST(TrainPosition, AdvancesThroughStepsAndIntoTheNextEpoch) {
  const TrainSampler sampler(10, 4, SamplerOptions{});
  TrainPosition position = initial_position(sampler);
  EXPECT_EQ(position, (TrainPosition{0, 0, 42, 4}));
  position = advance(sampler, position);
  EXPECT_EQ(position, (TrainPosition{0, 4, 42, 4}));
  position = advance(sampler, advance(sampler, position));  // 8, then the short step of 2
  EXPECT_EQ(position, (TrainPosition{1, 0, 42, 4}));
}

TEST(TrainPosition, ResumingGivesTheUninterruptedSequence) {
  for (bool drop_last : {false, true}) {
    const TrainSampler sampler(53, 8, SamplerOptions{17, drop_last, false});
    TrainPosition uninterrupted = initial_position(sampler);
    const auto expected = run_steps(sampler, uninterrupted, 20);

    for (int stop_after : {1, 6, 7, 13}) {
      TrainPosition position = initial_position(sampler);
      auto batches = run_steps(sampler, position, stop_after);
      // Save, then restore into a fresh sampler as a resumed run would (any world size: the
      // position and the sampler only know the global batch).
      TrainPosition restored = nlohmann::json(position).get<TrainPosition>();
      EXPECT_EQ(restored, position);
      const TrainSampler resumed_sampler(53, 8, SamplerOptions{17, drop_last, false});
      const auto rest = run_steps(resumed_sampler, restored, 20 - stop_after);
      batches.insert(batches.end(), rest.begin(), rest.end());
      EXPECT_EQ(batches, expected) << "stopped after " << stop_after << " steps";
      EXPECT_EQ(restored, uninterrupted);
    }
  }
}

TEST(TrainPosition, RejectsAPositionFromAnotherSetup) {
  const TrainSampler sampler(50, 8, SamplerOptions{1, false, false});
  EXPECT_THROW(next_step(sampler, TrainPosition{0, 0, 2, 8}), Error);   // other seed
  EXPECT_THROW(next_step(sampler, TrainPosition{0, 0, 1, 16}), Error);  // other global batch
  EXPECT_THROW(next_step(sampler, TrainPosition{0, 4, 1, 8}), Error);   // not a step boundary
  EXPECT_THROW(next_step(sampler, TrainPosition{0, 56, 1, 8}), Error);  // beyond the epoch
  EXPECT_EQ(next_step(sampler, TrainPosition{3, 48, 1, 8}), 6);
}

TEST(TrainPosition, JsonNamesEveryFieldAndRejectsMissingOnes) {
  const nlohmann::json json = TrainPosition{2, 96, 7, 32};
  EXPECT_EQ(json, nlohmann::json::parse(
                      R"({"epoch":2,"samples_consumed_in_epoch":96,"seed":7,"global_batch_size":32})"));
  EXPECT_THROW(nlohmann::json::parse(R"({"epoch":2,"seed":7,"global_batch_size":32})").get<TrainPosition>(),
               Error);
  EXPECT_THROW(
      nlohmann::json::parse(R"({"epoch":"2","samples_consumed_in_epoch":0,"seed":7,"global_batch_size":32})")
          .get<TrainPosition>(),
      Error);
}

}  // namespace
}  // namespace dtrain::data
