// `dtrain train` on a GPU (label `cuda`): fp16 autocast with dynamic loss scaling follows the CPU's
// fp32 run within half precision, and a run resumed from a checkpoint (model, optimizer, loss scale
// and the CUDA generator's state) draws the same dropout masks as an uninterrupted one.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "train/tiny_model_config.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;

const std::string kConfig = dtrain::testing::kTinyModelYaml + R"(
training:
  learning_rate: 1.0e-3
  max_steps: 12
  logging_steps: 1
  save_steps: 6
  warmup_steps: 2
  per_device_train_batch_size: 16
  disable_tqdm: true
)";

std::vector<nlohmann::json> step_logs(const fs::path& output_dir) {
  std::vector<nlohmann::json> entries;
  std::ifstream log(output_dir / "log.jsonl");
  for (std::string line; std::getline(log, line);) {
    auto entry = nlohmann::json::parse(line);
    if (entry.contains("loss")) entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<double> losses(const fs::path& output_dir) {
  std::vector<double> values;
  for (const auto& entry : step_logs(output_dir)) values.push_back(entry["loss"].get<double>());
  return values;
}

class CudaTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir("dtrain-cuda-training");
    const auto made = run_command(dtrain::testing::dtrain_binary().string() + " prepare-synthetic --output " +
                                  dir("synth").string() + " --train-rows 256 --dev-rows 16");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::ofstream(dir("config.yaml")) << kConfig;
  }
  static void TearDownTestSuite() { delete scratch_; }
  void SetUp() override {
    ASSERT_GT(torch::cuda::device_count(), 0u) << "no GPU visible to LibTorch (these tests need one)";
  }

  static fs::path dir(const std::string& name) { return scratch_->path() / name; }

  // `dtrain train` at one rank; `environment` prefixes the command (e.g. CUDA_VISIBLE_DEVICES=).
  static dtrain::testing::CommandResult train(const fs::path& output_dir, const std::string& extra,
                                              const std::string& environment = "") {
    const std::string command =
        "env OMP_NUM_THREADS=2 " + environment + " " + dtrain::testing::dtrain_binary().string() +
        " train --config " + dir("config.yaml").string() + " --data.train_file " +
        dir("synth/train.h5").string() + " --data.tokenizer " + dir("synth/tokenizer").string() +
        " --output_dir " + output_dir.string() + " " + extra + " 2>&1";
    auto result = run_command(command);
    EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
    return result;
  }

  static ScratchDir* scratch_;
};
ScratchDir* CudaTraining::scratch_ = nullptr;

TEST_F(CudaTraining, Fp16RunFollowsTheCpuFp32RunWithinHalfPrecision) {
  // The same initial weights (drawn on the CPU) and batches, no dropout: the GPU's fp16 losses differ
  // from the CPU's fp32 ones by rounding only.
  const auto gpu = train(dir("fp16-gpu"), "--fp16 true");
  const auto cpu = train(dir("fp32-cpu"), "--fp16 false", "CUDA_VISIBLE_DEVICES=");
  EXPECT_NE(gpu.output.find("device cuda:0"), std::string::npos) << gpu.output;
  const auto gpu_losses = losses(dir("fp16-gpu")), cpu_losses = losses(dir("fp32-cpu"));
  ASSERT_EQ(gpu_losses.size(), 12u);
  ASSERT_EQ(cpu_losses.size(), 12u);
  for (size_t step = 0; step < gpu_losses.size(); ++step) {
    EXPECT_NEAR(gpu_losses[step], cpu_losses[step], 2e-2 * cpu_losses[step]) << "step " << step + 1;
  }
  // The loss scale starts at GradScaler's 65536 and no step of this tame run overflows: the 12 steps
  // are all taken, and the model moved as far as the CPU's.
  EXPECT_LT(gpu_losses.back(), gpu_losses.front());
  EXPECT_NEAR(gpu_losses.back(), cpu_losses.back(), 2e-2 * cpu_losses.back());
}

TEST_F(CudaTraining, Fp16ResumedRunDrawsTheSameDropoutMasksAsAnUninterruptedOne) {
  const std::string options =
      "--fp16 true --model.config.hidden_dropout_prob 0.1 --model.config.attention_probs_dropout_prob 0.1";
  train(dir("dropout-full"), options);
  fs::create_directories(dir("dropout-resumed"));
  fs::copy(dir("dropout-full/checkpoint-6"), dir("dropout-resumed/checkpoint-6"));
  const auto resumed = train(dir("dropout-resumed"), options + " --resume_from_checkpoint latest");
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  const auto full_losses = losses(dir("dropout-full")), resumed_losses = losses(dir("dropout-resumed"));
  ASSERT_EQ(full_losses.size(), 12u);
  ASSERT_EQ(resumed_losses.size(), 12u);
  // Without the CUDA generator's state the resumed steps would draw other dropout masks, which move a
  // step's loss by about 1e-2; GPU kernels with atomics may differ in the last bits between runs.
  for (size_t step = 6; step < 12; ++step) {
    EXPECT_NEAR(resumed_losses[step], full_losses[step], 1e-4 * full_losses[step]) << "step " << step + 1;
  }
}

}  // namespace
}  // namespace dtrain::train
