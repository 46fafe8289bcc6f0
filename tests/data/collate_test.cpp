#include "data/loading/collate.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace dtrain::data {
namespace {

// Three samples of lengths 3, 1 and 5; token ids 10+i for the i-th token overall, types alternating.
SampleBlock three_samples() {
  SampleBlock block;
  block.starts = {0, 3, 4, 9};
  for (int32_t i = 0; i < 9; ++i) {
    block.input_ids.push_back(10 + i);
    block.token_type_ids.push_back(static_cast<int8_t>(i % 2));
  }
  block.class_labels = {2, 0, 1};
  return block;
}

TEST(Collate, PadsToTheLongestSampleWithMaskAndTypes) {
  const SampleBlock block = three_samples();
  const Batch batch = collate(block, CollateOptions{99, 0});
  ASSERT_EQ(batch.batch_size, 3);
  ASSERT_EQ(batch.seq_len, 5);
  for (int64_t row = 0; row < 3; ++row) {
    const int64_t length = block.starts[row + 1] - block.starts[row];
    for (int64_t column = 0; column < 5; ++column) {
      const auto cell = static_cast<size_t>(row * 5 + column);
      if (column < length) {
        const auto token = static_cast<size_t>(block.starts[row] + column);
        EXPECT_EQ(batch.input_ids[cell], block.input_ids[token]);
        EXPECT_EQ(batch.token_type_ids[cell], block.token_type_ids[token]);
        EXPECT_EQ(batch.attention_mask[cell], 1);
      } else {
        EXPECT_EQ(batch.input_ids[cell], 99);
        EXPECT_EQ(batch.token_type_ids[cell], 0);
        EXPECT_EQ(batch.attention_mask[cell], 0);
      }
    }
  }
  EXPECT_EQ(batch.num_tokens, 9);
  EXPECT_EQ(batch.class_labels, block.class_labels);
  EXPECT_TRUE(batch.regression_labels.empty());
}

TEST(Collate, PadToMultipleOfRoundsTheLengthUp) {
  const SampleBlock block = three_samples();
  EXPECT_EQ(collate(block, CollateOptions{0, 8}).seq_len, 8);
  EXPECT_EQ(collate(block, CollateOptions{0, 5}).seq_len, 5);
  EXPECT_EQ(collate(block, CollateOptions{0, 1}).seq_len, 5);
  const Batch batch = collate(block, CollateOptions{0, 4});
  EXPECT_EQ(batch.seq_len, 8);
  EXPECT_EQ(batch.input_ids.size(), 24u);
  int64_t mask_sum = 0;
  for (int64_t value : batch.attention_mask) mask_sum += value;
  EXPECT_EQ(mask_sum, batch.num_tokens);
}

TEST(Collate, CarriesRegressionLabels) {
  SampleBlock block = three_samples();
  block.class_labels.clear();
  block.regression_labels = {0.5f, 4.25f, -1.0f};
  const Batch batch = collate(block, CollateOptions{});
  EXPECT_EQ(batch.regression_labels, block.regression_labels);
  EXPECT_TRUE(batch.class_labels.empty());
}

TEST(Collate, EmptyBlockGivesAnEmptyBatch) {
  SampleBlock block;
  block.starts = {0};
  const Batch batch = collate(block, CollateOptions{});
  EXPECT_EQ(batch.batch_size, 0);
  EXPECT_EQ(batch.seq_len, 0);
  EXPECT_TRUE(batch.input_ids.empty());
}

// A translation block of two samples; transformers' behaviour, checked against DataCollatorForSeq2Seq
// itself in dataset_format_test.cpp, is: labels padded with -100, decoder inputs shifted right.
SampleBlock translation_pair() {
  SampleBlock block;
  block.starts = {0, 2, 3};
  block.input_ids = {5, 0, 0};
  block.label_starts = {0, 3, 4};
  block.label_ids = {7, 8, 0, 0};
  return block;
}

TEST(Collate, TranslationWithoutTokenTypesOrDecoderStart) {
  const SampleBlock block = translation_pair();
  const Batch batch = collate(block, CollateOptions{9, 0, 1});
  EXPECT_EQ(batch.token_type_ids, std::vector<int64_t>(4, 0));
  EXPECT_EQ(batch.target_len, 3);
  EXPECT_EQ(batch.labels, (std::vector<int64_t>{7, 8, 0, 0, kLabelPadId, kLabelPadId}));
  EXPECT_EQ(batch.decoder_input_ids, (std::vector<int64_t>{1, 7, 8, 1, 0, 9}));
  EXPECT_EQ(batch.num_target_tokens, 4);
  EXPECT_THROW(collate(block, CollateOptions{9, 0, kNoTokenId}), Error);
}

}  // namespace
}  // namespace dtrain::data
