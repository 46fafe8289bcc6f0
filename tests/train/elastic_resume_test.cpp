// keep_global_batch_on_resume: a checkpoint's global batch kept on another number of ranks.
#include "train/elastic_resume.h"

#include <gtest/gtest.h>

#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::train {
namespace {

using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

// output_dir with checkpoint-4 saved at global batch `global_batch`.
TrainingArguments resuming_from(const ScratchDir& dir, int64_t global_batch) {
  write_file(dir / "checkpoint-4/data_position.json",
             R"({"epoch": 0, "samples_consumed_in_epoch": 48, "seed": 42, "global_batch_size": )" +
                 std::to_string(global_batch) + "}");
  write_file(dir / "checkpoint-4/checkpoint_complete", "{}");
  TrainingArguments args;
  args.output_dir = dir.path().string();
  args.resume_from_checkpoint = "latest";
  args.keep_global_batch_on_resume = true;
  return args;
}

TEST(ElasticResume, FewerRanksAccumulateMoreAndMoreRanksTakeSmallerBatches) {
  ScratchDir dir;
  TrainingArguments args = resuming_from(dir, 12);
  args.per_device_train_batch_size = 6;  // was 6 x 2 ranks
  const std::string change = keep_checkpoint_global_batch(args, 1);
  EXPECT_EQ(args.per_device_train_batch_size, 6);
  EXPECT_EQ(args.gradient_accumulation_steps, 2);
  EXPECT_NE(
      change.find("global batch 12; on 1 ranks it is kept with per_device_train_batch_size 6 (was 6) and "
                  "gradient_accumulation_steps 2 (was 1)"),
      std::string::npos)
      << change;

  args = resuming_from(dir, 12);
  args.per_device_train_batch_size = 6;
  keep_checkpoint_global_batch(args, 3);
  EXPECT_EQ(args.per_device_train_batch_size, 4);
  EXPECT_EQ(args.gradient_accumulation_steps, 1);

  args = resuming_from(dir, 12);
  args.per_device_train_batch_size = 6;
  EXPECT_EQ(keep_checkpoint_global_batch(args, 2), "") << "the same global batch: nothing to change";
  EXPECT_DTRAIN_ERROR(keep_checkpoint_global_batch(args, 5),
                      "global batch 12, which 5 ranks cannot share evenly");
}

TEST(ElasticResume, OffOrNothingToResumeChangesNothing) {
  ScratchDir dir;
  TrainingArguments args = resuming_from(dir, 12);
  args.keep_global_batch_on_resume = false;
  EXPECT_EQ(keep_checkpoint_global_batch(args, 1), "");
  EXPECT_EQ(args.gradient_accumulation_steps, 1);
  ScratchDir empty;
  args = TrainingArguments();
  args.output_dir = empty.path().string();
  args.resume_from_checkpoint = "latest";
  args.keep_global_batch_on_resume = true;
  EXPECT_EQ(keep_checkpoint_global_batch(args, 1), "");
}

}  // namespace
}  // namespace dtrain::train
