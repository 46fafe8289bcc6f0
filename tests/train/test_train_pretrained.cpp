// Fine-tuning from a Hugging Face folder (the MRPC walk-through's path): a BertForPreTraining
// checkpoint with cls.* heads and no classifier trains on 2 ranks, starting from its weights.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "model/checkpoint_test_support.h"
#include "model/hf/safetensors.h"
#include "support/test_support.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::run_command;

TEST(TrainPretrained, FineTunesFromAHuggingFaceFolderWithANewHead) {
  dtrain::testing::ScratchDir dir;
  const std::string dtrain = dtrain::testing::dtrain_binary().string();
  auto made = run_command(dtrain + " prepare-synthetic --output " + (dir / "synth").string() +
                          " --train-rows 200 --dev-rows 20");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  dtrain::testing::run_safetensors_tool("bert " + (dir / "pretrained").string() +
                                        " --variant pretraining --vocab-size 505 --seed 5");
  fs::copy_file(dir / "synth/tokenizer/vocab.txt", dir / "pretrained/vocab.txt");  // fingerprint check passes
  std::ofstream(dir / "config.yaml") << "model: {name_or_path: " << (dir / "pretrained").string() << "}\n"
                                     << "data: {train_file: " << (dir / "synth/train.h5").string() << "}\n"
                                     << "training: {output_dir: " << (dir / "out").string()
                                     << ", max_steps: 5, learning_rate: 1.0e-4, disable_tqdm: true}\n";

  auto trained =
      run_command(dtrain::testing::mpirun_dtrain(2) + " train --config " + (dir / "config.yaml").string());
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  // Reported the way transformers reports a new head, and the pretraining extras skipped.
  EXPECT_THAT(trained.output, ::testing::HasSubstr("newly initialized"));
  EXPECT_THAT(trained.output, ::testing::HasSubstr("classifier.weight"));

  // Five AdamW steps of lr 1e-4 move a weight by at most ~5e-4: every encoder weight must still be
  // the pretrained one up to that, and must have moved (it was trained, not just copied).
  model::SafetensorsFile pretrained(dir / "pretrained/expected/model.safetensors");
  model::SafetensorsFile final_model(dir / "out/model.safetensors");
  ASSERT_NE(final_model.find("classifier.weight"), nullptr);
  for (const auto& view : pretrained.tensors()) {
    const auto* trained_view = final_model.find(view.name);
    ASSERT_NE(trained_view, nullptr) << view.name;
    const double moved = (model::to_tensor(*trained_view, at::kDouble) - model::to_tensor(view, at::kDouble))
                             .abs()
                             .max()
                             .item<double>();
    EXPECT_LE(moved, 1e-3) << view.name;
    if (view.name == "bert.embeddings.LayerNorm.weight") EXPECT_GT(moved, 0.0) << view.name;
  }
}

}  // namespace
}  // namespace dtrain::train
