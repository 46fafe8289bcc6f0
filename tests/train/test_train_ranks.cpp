// `dtrain train` under mpirun: the same global batch split over 1, 2 or 3 ranks and over
// micro-batches trains the same model step by step (the per-step losses and the final weights).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/hf/safetensors.h"
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
  max_steps: 8
  logging_steps: 1
  warmup_steps: 2
  weight_decay: 0.01
  disable_tqdm: true
)";

class TrainRanks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir("dtrain-train-ranks");
    // 100 samples and a global batch of 12: the last step of the first epoch (step 9) is never
    // reached, but the samples of each step differ between steps.
    const auto made = run_command(dtrain::testing::dtrain_binary().string() + " prepare-synthetic --output " +
                                  (scratch_->path() / "synth").string() + " --train-rows 100 --dev-rows 10");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::ofstream(scratch_->path() / "config.yaml") << kConfig;
  }
  static void TearDownTestSuite() { delete scratch_; }

  struct Run {
    std::vector<double> losses;
    fs::path model;
  };

  // Trains with `ranks` ranks, `per_device` x `accumulation`, and returns the logged per-step losses.
  static Run train(int ranks, int per_device, int accumulation, const std::string& allreduce_dtype) {
    const fs::path out =
        scratch_->path() / ("run-" + std::to_string(ranks) + "-" + std::to_string(per_device) + "-" +
                            std::to_string(accumulation) + "-" + allreduce_dtype);
    const std::string command = dtrain::testing::mpirun_dtrain(ranks) + " train --config " +
                                (scratch_->path() / "config.yaml").string() + " --data.train_file " +
                                (scratch_->path() / "synth" / "train.h5").string() + " --output_dir " +
                                out.string() + " --per_device_train_batch_size " +
                                std::to_string(per_device) + " --gradient_accumulation_steps " +
                                std::to_string(accumulation) + " --ddp_allreduce_dtype " + allreduce_dtype;
    const auto result = run_command(command);
    EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
    Run run{{}, out / "model.safetensors"};
    std::ifstream log(out / "log.jsonl");
    for (std::string line; std::getline(log, line);) {
      const auto entry = nlohmann::json::parse(line);
      if (entry.contains("loss")) run.losses.push_back(entry["loss"].get<double>());
    }
    EXPECT_EQ(run.losses.size(), 8u) << command;
    return run;
  }

  static void expect_same_training(const Run& a, const Run& b, double loss_rtol, double weight_atol) {
    ASSERT_EQ(a.losses.size(), b.losses.size());
    for (size_t step = 0; step < a.losses.size(); ++step) {
      EXPECT_NEAR(a.losses[step], b.losses[step], loss_rtol * std::abs(a.losses[step]))
          << "step " << step + 1;
    }
    model::SafetensorsFile first(a.model), second(b.model);
    ASSERT_EQ(first.tensors().size(), second.tensors().size());
    for (const auto& view : first.tensors()) {
      const auto* other = second.find(view.name);
      ASSERT_NE(other, nullptr) << view.name;
      const double difference = (model::to_tensor(view, at::kDouble) - model::to_tensor(*other, at::kDouble))
                                    .abs()
                                    .max()
                                    .item<double>();
      EXPECT_LE(difference, weight_atol) << view.name;
    }
  }

  // Global batch 12 = 4 x 1 x 3 = 3 x 2 x 2 = 4 x 3 x 1: the 2- and 3-rank runs against the 1-rank one.
  static void expect_rank_counts_agree(const std::string& allreduce_dtype, double loss_rtol,
                                       double weight_atol) {
    const Run one = train(1, 4, 3, allreduce_dtype);
    expect_same_training(one, train(2, 3, 2, allreduce_dtype), loss_rtol, weight_atol);
    expect_same_training(one, train(3, 4, 1, allreduce_dtype), loss_rtol, weight_atol);
  }

  static ScratchDir* scratch_;
};
ScratchDir* TrainRanks::scratch_ = nullptr;

TEST_F(TrainRanks, SameGlobalBatchOnOneTwoAndThreeRanksGivesTheSameLossesWithFp16Communication) {
  // fp16 rounding of the summed gradients differs with the number of addends; Adam turns tiny
  // gradient differences into up to lr-sized steps on near-zero gradients, so the weights are
  // compared at a few learning rates (8 steps of lr 1e-3 move them by up to 8e-3).
  expect_rank_counts_agree("fp16", 1e-3, 5e-3);
}

TEST_F(TrainRanks, SameGlobalBatchOnOneTwoAndThreeRanksGivesTheSameModelWithFp32Communication) {
  expect_rank_counts_agree("fp32", 1e-5, 1e-4);
}

TEST_F(TrainRanks, AccumulatedMicroBatchesEqualOneLargerBatch) {
  // fp32 communication: what is left is float summation order, far below the fp16 tolerance.
  const Run accumulated = train(1, 4, 3, "fp32");
  const Run whole = train(1, 12, 1, "fp32");
  expect_same_training(accumulated, whole, 1e-5, 1e-4);
}

}  // namespace
}  // namespace dtrain::train
