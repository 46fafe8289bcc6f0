#include "data/eval_partition.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace dtrain::data {
namespace {

TEST(EvalPartition, EverySampleExactlyOnceInOrderForAnyWorldSize) {
  for (int world = 1; world <= 5; ++world) {
    for (int64_t samples = 0; samples <= 20; ++samples) {
      SCOPED_TRACE(testing::Message() << world << " ranks, " << samples << " samples");
      int64_t next = 0;  // concatenating rank blocks in rank order must give 0..samples-1
      for (int rank = 0; rank < world; ++rank) {
        const IndexRange block = eval_partition(samples, rank, world);
        EXPECT_EQ(block.begin, next);
        EXPECT_GE(block.size(), samples / world);
        EXPECT_LE(block.size(), samples / world + 1);
        next = block.end;
      }
      EXPECT_EQ(next, samples);
    }
  }
}

TEST(EvalPartition, RanksBeyondTheSampleCountGetNothing) {
  EXPECT_EQ(eval_partition(2, 0, 4), (IndexRange{0, 1}));
  EXPECT_EQ(eval_partition(2, 1, 4), (IndexRange{1, 2}));
  EXPECT_TRUE(eval_partition(2, 2, 4).empty());
  EXPECT_TRUE(eval_partition(2, 3, 4).empty());
}

TEST(EvalBatches, CutTheBlockInOrderWithASmallerLastBatch) {
  for (int64_t batch_size = 1; batch_size <= 6; ++batch_size) {
    const IndexRange block{3, 16};
    const auto batches = eval_batches(block, batch_size);
    int64_t next = block.begin;
    for (size_t i = 0; i < batches.size(); ++i) {
      EXPECT_EQ(batches[i].begin, next);
      EXPECT_GT(batches[i].size(), 0);
      if (i + 1 < batches.size()) EXPECT_EQ(batches[i].size(), batch_size);
      next = batches[i].end;
    }
    EXPECT_EQ(next, block.end);
  }
  EXPECT_TRUE(eval_batches(IndexRange{5, 5}, 4).empty());
}

TEST(EvalBatches, RejectsANonPositiveBatchSize) {
  EXPECT_THROW(eval_batches(IndexRange{0, 4}, 0), Error);
}

}  // namespace
}  // namespace dtrain::data
