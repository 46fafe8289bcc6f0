#include "data/loading/eval_partition.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace dtrain::data {
namespace {

TEST(EvalPartition, EverySampleExactlyOnceInOrderForAnyWorldSize) {
  for (int64_t batch_size : {1, 3}) {
    for (int world = 1; world <= 5; ++world) {
      for (int64_t samples = 0; samples <= 20; ++samples) {
        SCOPED_TRACE(testing::Message()
                     << world << " ranks, " << samples << " samples, batch " << batch_size);
        const int64_t batches = (samples + batch_size - 1) / batch_size;
        int64_t next = 0;  // concatenating rank blocks in rank order must give 0..samples-1
        for (int rank = 0; rank < world; ++rank) {
          const IndexRange block = eval_partition(samples, batch_size, rank, world);
          EXPECT_EQ(block.begin, next);
          const int64_t block_batches = (block.size() + batch_size - 1) / batch_size;
          EXPECT_GE(block_batches, batches / world);
          EXPECT_LE(block_batches, batches / world + 1);
          next = block.end;
        }
        EXPECT_EQ(next, samples);
      }
    }
  }
}

TEST(EvalPartition, EveryRankEvaluatesTheSameBatchesAsOneRank) {
  // Batch contents decide padding and arithmetic: they must not depend on the world size.
  for (int64_t samples : {0, 1, 7, 20, 23}) {
    const auto single = eval_batches(eval_partition(samples, 4, 0, 1), 4);
    for (int world = 2; world <= 5; ++world) {
      std::vector<IndexRange> distributed;
      for (int rank = 0; rank < world; ++rank) {
        for (const auto& batch : eval_batches(eval_partition(samples, 4, rank, world), 4)) {
          distributed.push_back(batch);
        }
      }
      EXPECT_EQ(distributed, single) << world << " ranks, " << samples << " samples";
    }
  }
}

TEST(EvalPartition, RanksBeyondTheBatchCountGetNothing) {
  EXPECT_EQ(eval_partition(2, 1, 0, 4), (IndexRange{0, 1}));
  EXPECT_EQ(eval_partition(2, 1, 1, 4), (IndexRange{1, 2}));
  EXPECT_TRUE(eval_partition(2, 1, 2, 4).empty());
  EXPECT_TRUE(eval_partition(2, 1, 3, 4).empty());
  EXPECT_EQ(eval_partition(5, 4, 0, 3), (IndexRange{0, 4}));
  EXPECT_EQ(eval_partition(5, 4, 1, 3), (IndexRange{4, 5}));
  EXPECT_TRUE(eval_partition(5, 4, 2, 3).empty());
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
