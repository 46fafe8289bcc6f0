// save_total_limit's rotation and the cleanup of interrupted saves, on folders that only carry the
// completion marker (rotation trusts it; resume verifies the checksums, see test_resume.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "train/checkpoint.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void make_saved(const fs::path& output_dir, int64_t step) {
  write_file(checkpoint_folder(output_dir, step) / "checkpoint_complete", "{}");
}

TEST(CheckpointRotation, DeletesTheOldestButNeverTheBestNorTheNewest) {
  ScratchDir out;
  for (int64_t step : {2, 4, 6, 8, 10}) make_saved(out.path(), step);
  fs::create_directories(checkpoint_folder(out.path(), 12));  // a save in progress (no marker): not counted

  const auto deleted = rotate_checkpoints(out.path(), 2, checkpoint_folder(out.path(), 4));
  ASSERT_EQ(deleted.size(), 3u);
  EXPECT_EQ(names_in(out.path()),
            (std::vector<std::string>{"checkpoint-10", "checkpoint-12", "checkpoint-4"}));

  // A limit of 1 keeps the best and the newest, as Trainer does.
  EXPECT_TRUE(rotate_checkpoints(out.path(), 1, checkpoint_folder(out.path(), 4)).empty());
  EXPECT_EQ(rotate_checkpoints(out.path(), 1, {}).size(), 1u);
  EXPECT_EQ(names_in(out.path()), (std::vector<std::string>{"checkpoint-10", "checkpoint-12"}));
}

TEST(CheckpointRotation, InterruptedSavesAreRemovedAndNeverComplete) {
  ScratchDir out;
  make_saved(out.path(), 3);
  write_file(out.path() / "checkpoint-5.tmp-4242" / "model.safetensors", "partial");
  EXPECT_EQ(remove_unfinished_saves(out.path()).size(), 1u);
  EXPECT_EQ(names_in(out.path()), (std::vector<std::string>{"checkpoint-3"}));

  // The marker of a real checkpoint lists checksums: this one lists none, and a folder without
  // the marker is incomplete.
  EXPECT_EQ(checkpoint_problem(checkpoint_folder(out.path(), 3)), "checkpoint_complete lists no files");
  fs::create_directories(checkpoint_folder(out.path(), 7));
  EXPECT_EQ(checkpoint_problem(checkpoint_folder(out.path(), 7)),
            "no checkpoint_complete marker (interrupted while saving?)");
  EXPECT_FALSE(latest_complete_checkpoint(out.path()).has_value());
}

}  // namespace
}  // namespace dtrain::train
