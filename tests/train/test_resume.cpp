// Checkpoints, resume and preemption through `dtrain train` (1 and 2 ranks): a run resumed from a
// checkpoint, or preempted by a signal and resubmitted with `latest`, trains exactly as an
// uninterrupted one; crashes at any moment never leave a broken "latest" checkpoint; rotation keeps
// the best checkpoint; a changed global batch or dataset is refused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "data/dataset/dataset_reader.h"
#include "model/hf/safetensors.h"
#include "support/background_run.h"
#include "support/test_support.h"
#include "tasks/task_registry.h"
#include "train/checkpoint.h"
#include "train/tiny_model_config.h"
#include "train/training_runs.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::BackgroundRun;
using dtrain::testing::count_lines;
using dtrain::testing::logged_losses;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;

const std::string kConfig = dtrain::testing::kTinyModelYaml + R"(
training:
  learning_rate: 1.0e-3
  max_steps: 12
  logging_steps: 1
  save_steps: 6
  warmup_steps: 2
  weight_decay: 0.01
  per_device_train_batch_size: 12
  disable_tqdm: true
)";

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

class Resume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir("dtrain-resume");
    const auto made = run_command(dtrain::testing::dtrain_binary().string() + " prepare-synthetic --output " +
                                  (scratch_->path() / "synth").string() + " --train-rows 100 --dev-rows 24");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::ofstream(scratch_->path() / "config.yaml") << kConfig;
  }
  static void TearDownTestSuite() { delete scratch_; }

  static fs::path dir(const std::string& name) { return scratch_->path() / name; }

  // The `dtrain train` command line on `ranks` ranks (1: no mpirun) writing to `output_dir`.
  static std::string train_command(int ranks, const fs::path& output_dir, const std::string& extra = "") {
    const std::string dtrain =
        ranks == 1 ? dtrain::testing::dtrain_binary().string() : dtrain::testing::mpirun_dtrain(ranks);
    return "env OMP_NUM_THREADS=1 " + dtrain + " train --config " + dir("config.yaml").string() +
           " --data.train_file " + dir("synth/train.h5").string() + " --data.tokenizer " +
           dir("synth/tokenizer").string() + " --output_dir " + output_dir.string() + " " + extra;
  }

  static dtrain::testing::CommandResult train(int ranks, const fs::path& output_dir,
                                              const std::string& extra = "") {
    const std::string command = train_command(ranks, output_dir, extra);
    auto result = run_command(command);
    EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
    return result;
  }

  // Starts a long run in the background and sends `signal_number` once step 3 is logged; returns
  // the run's exit status and output.
  static std::pair<int, std::string> preempt(int ranks, const fs::path& output_dir, const std::string& extra,
                                             int signal_number) {
    BackgroundRun run(train_command(ranks, output_dir, extra), output_dir.string() + ".out");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (count_lines(output_dir / "log.jsonl") < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    run.signal(signal_number);
    const int status = run.wait();
    return {status, run.output()};
  }

  static ScratchDir* scratch_;
};
ScratchDir* Resume::scratch_ = nullptr;

TEST_F(Resume, ResumedRunEqualsUninterruptedBitwiseWithDropout) {
  const std::string dropout =
      "--model.config.hidden_dropout_prob 0.1 --model.config.attention_probs_dropout_prob 0.1";
  train(1, dir("dropout-full"), dropout);
  fs::create_directories(dir("dropout-resumed"));
  fs::copy(dir("dropout-full/checkpoint-6"), dir("dropout-resumed/checkpoint-6"));
  const auto resumed = train(1, dir("dropout-resumed"), dropout + " --resume_from_checkpoint latest");
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;

  const auto full_losses = logged_losses(dir("dropout-full"));
  ASSERT_EQ(full_losses.size(), 12u);
  EXPECT_EQ(logged_losses(dir("dropout-resumed")), full_losses);  // log.jsonl continues the checkpoint's log
  EXPECT_EQ(file_bytes(dir("dropout-resumed/model.safetensors")),
            file_bytes(dir("dropout-full/model.safetensors")));

  // Every checkpoint and the final model are complete Hugging Face folders.
  for (const fs::path folder : {dir("dropout-full/checkpoint-6"), dir("dropout-full")}) {
    for (const char* name : {"config.json", "model.safetensors", "vocab.txt", "trainer_state.json"}) {
      EXPECT_TRUE(fs::is_regular_file(folder / name)) << folder / name;
    }
  }
  const auto state = read_json(dir("dropout-full/checkpoint-6/trainer_state.json"));
  EXPECT_EQ(state["global_step"], 6);
  EXPECT_EQ(state["max_steps"], 12);
  EXPECT_EQ(state["save_steps"], 6);
  EXPECT_EQ(state["train_batch_size"], 12);
  EXPECT_EQ(state["log_history"].size(), 6u);
}

TEST_F(Resume, CheckpointOfOneRankResumesOnTwoRanksWithTheSameGlobalBatch) {
  train(1, dir("ranks-full"));
  fs::create_directories(dir("ranks-resumed"));
  fs::copy(dir("ranks-full/checkpoint-6"), dir("ranks-resumed/checkpoint-6"));
  train(2, dir("ranks-resumed"), "--per_device_train_batch_size 6 --resume_from_checkpoint latest");
  dtrain::testing::expect_same_run_under_fp16(dir("ranks-full"), dir("ranks-resumed"));
}

TEST_F(Resume, UsrOneToMpirunCheckpointsAndTheResubmittedJobEqualsAnUninterruptedOne) {
  const std::string long_run = "--max_steps 400 --save_steps 1000 --per_device_train_batch_size 6";
  const auto [status, output] = preempt(2, dir("usr1"), long_run, SIGUSR1);
  ASSERT_EQ(status, 0) << output;
  ASSERT_NE(output.find("preempted at step"), std::string::npos) << output;
  EXPECT_NE(output.find("resume with --resume_from_checkpoint latest"), std::string::npos) << output;
  train(2, dir("usr1"), long_run + " --resume_from_checkpoint latest");
  train(2, dir("usr1-full"), long_run);
  EXPECT_EQ(logged_losses(dir("usr1")), logged_losses(dir("usr1-full")));
  EXPECT_EQ(file_bytes(dir("usr1/model.safetensors")), file_bytes(dir("usr1-full/model.safetensors")));
}

TEST_F(Resume, SigtermCheckpointsAndTheResumedRunEqualsAnUninterruptedOneWithDropout) {
  const std::string long_run =
      "--max_steps 400 --save_steps 1000 --model.config.hidden_dropout_prob 0.1 "
      "--model.config.attention_probs_dropout_prob 0.1";
  const auto [status, output] = preempt(1, dir("term"), long_run, SIGTERM);
  ASSERT_EQ(status, 0) << output;
  ASSERT_NE(output.find("preempted at step"), std::string::npos) << output;
  ASSERT_TRUE(latest_complete_checkpoint(dir("term")).has_value());
  train(1, dir("term"), long_run + " --resume_from_checkpoint latest");
  train(1, dir("term-full"), long_run);
  EXPECT_EQ(logged_losses(dir("term")), logged_losses(dir("term-full")));
  EXPECT_EQ(file_bytes(dir("term/model.safetensors")), file_bytes(dir("term-full/model.safetensors")));
}

// SIGKILL at random moments while a checkpoint is saved every step: whatever `latest` finds loads,
// and training resumes from it.
TEST_F(Resume, KilledAtRandomMomentsNeverLeavesABrokenLatestCheckpoint) {
  const fs::path out = dir("killed");
  const std::string run_args = "--max_steps 2000 --save_steps 1 --logging_steps 100";
  std::mt19937 random(1234);
  int64_t reached = 0;  // the step of the latest complete checkpoint
  for (int attempt = 0; attempt < 4; ++attempt) {
    BackgroundRun run(train_command(1, out, run_args + " --resume_from_checkpoint latest"),
                      out.string() + ".out");
    // Once this attempt is saving (whatever the machine's load made of the start-up), a random
    // moment within the next few saves.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(checkpoint_folder(out, reached + 2)) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 200));
    run.signal(SIGKILL);
    run.wait();
    const auto latest = latest_complete_checkpoint(out);
    ASSERT_TRUE(latest.has_value()) << run.output();
    const data::DatasetReader train_data(dir("synth/train.h5"));
    const auto task = tasks::make_task({{*latest, nullptr}, train_data, tasks::Purpose::kInference});
    const TrainerSnapshot snapshot = read_checkpoint(*latest, *task);
    EXPECT_EQ(latest->filename().string(), "checkpoint-" + std::to_string(snapshot.global_step));
    EXPECT_FALSE(snapshot.optimizer.empty());
    EXPECT_GT(snapshot.global_step, reached);
    reached = snapshot.global_step;
  }
  const auto latest = latest_complete_checkpoint(out);

  // A newer incomplete and a newer corrupt checkpoint: `latest` skips both with a warning, an
  // explicit path to either is an error.
  const int64_t step = read_json(*latest / "trainer_state.json")["global_step"].get<int64_t>();
  const fs::path incomplete = checkpoint_folder(out, step + 10), corrupt = checkpoint_folder(out, step + 20);
  fs::copy(*latest, incomplete);
  fs::remove(incomplete / "checkpoint_complete");
  fs::copy(*latest, corrupt);
  std::fstream(corrupt / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary)
      .seekp(200)
      .put('\x7f');
  const auto resumed =
      train(1, out, "--max_steps " + std::to_string(step + 1) + " --resume_from_checkpoint latest");
  EXPECT_NE(resumed.output.find("skipping incomplete checkpoint " + incomplete.string() +
                                ": no checkpoint_complete"),
            std::string::npos)
      << resumed.output;
  EXPECT_NE(resumed.output.find("skipping incomplete checkpoint " + corrupt.string() +
                                ": model.safetensors does not match its checksum"),
            std::string::npos)
      << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from " + latest->string()), std::string::npos) << resumed.output;

  for (const fs::path& broken : {incomplete, corrupt}) {
    const auto explicit_path =
        run_command(train_command(1, out, "--resume_from_checkpoint " + broken.string()));
    EXPECT_EQ(explicit_path.exit_code, 1) << explicit_path.output;
    EXPECT_NE(explicit_path.output.find("dtrain: error: resume_from_checkpoint: " + broken.string() +
                                        " is not a complete checkpoint"),
              std::string::npos)
        << explicit_path.output;
  }
}

TEST_F(Resume, ChangedGlobalBatchOrDatasetIsAnErrorUnlessAllowed) {
  train(1, dir("changed"), "--max_steps 6");
  const std::string resume =
      " --max_steps 12 --resume_from_checkpoint " + dir("changed/checkpoint-6").string();
  const auto batch =
      run_command(train_command(1, dir("changed"), "--per_device_train_batch_size 8" + resume));
  EXPECT_EQ(batch.exit_code, 1) << batch.output;
  EXPECT_NE(batch.output.find("with global batch 12"), std::string::npos) << batch.output;
  EXPECT_NE(batch.output.find("global batch 8"), std::string::npos) << batch.output;
  EXPECT_NE(batch.output.find("allow_data_change_on_resume"), std::string::npos) << batch.output;

  const auto data = run_command(
      train_command(1, dir("changed"), "--data.train_file " + dir("synth/dev.h5").string() + resume));
  EXPECT_EQ(data.exit_code, 1) << data.output;
  EXPECT_NE(data.output.find("this run trains on " + dir("synth/dev.h5").string()), std::string::npos)
      << data.output;
  EXPECT_NE(data.output.find("allow_data_change_on_resume"), std::string::npos) << data.output;

  train(1, dir("changed"), "--per_device_train_batch_size 8 --allow_data_change_on_resume true" + resume);
}

TEST_F(Resume, ANewRunRefusesToOverwriteAnotherRunsCheckpointsUnlessAsked) {
  train(1, dir("taken"), "--max_steps 6");
  const auto refused = run_command(train_command(1, dir("taken"), "--max_steps 6"));
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("already holds checkpoints of a run (checkpoint-6)"), std::string::npos)
      << refused.output;
  EXPECT_TRUE(fs::exists(dir("taken/checkpoint-6/checkpoint_complete")))
      << "the earlier run's checkpoint is kept";
  train(1, dir("taken"), "--max_steps 6 --overwrite_output_dir true");
}

TEST_F(Resume, RotationKeepsTheBestCheckpointWhichBecomesTheFinalModel) {
  const fs::path out = dir("best");
  // The best eval_loss under greater_is_better is the worst model: an early checkpoint, which
  // rotation must keep although it is the oldest.
  train(1, out,
        "--data.eval_file " + dir("synth/dev.h5").string() +
            " --eval_strategy steps --eval_steps 2 --save_steps 2 --save_total_limit 1 "
            "--load_best_model_at_end true "
            "--greater_is_better true");
  const auto state = read_json(out / "trainer_state.json");
  const fs::path best = state["best_model_checkpoint"].get<std::string>();
  double highest = -1;
  for (const auto& entry : state["log_history"]) {
    if (entry.contains("eval_loss")) highest = std::max(highest, entry["eval_loss"].get<double>());
  }
  EXPECT_EQ(state["best_metric"].get<double>(), highest);
  std::vector<std::string> kept;
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().filename().string().rfind("checkpoint-", 0) == 0)
      kept.push_back(entry.path().filename());
  }
  std::sort(kept.begin(), kept.end());
  const std::vector<std::string> expected =
      best.filename() == "checkpoint-12"
          ? std::vector<std::string>{"checkpoint-12"}
          : std::vector<std::string>{best.filename().string(), "checkpoint-12"};
  EXPECT_EQ(kept, expected);
  EXPECT_EQ(file_bytes(out / "model.safetensors"), file_bytes(best / "model.safetensors"));
}

TEST_F(Resume, EarlyStoppingStopsAfterPatienceEvaluationsWithoutImprovement) {
  const fs::path out = dir("early");
  // A threshold no change in loss can pass: every evaluation after the first fails to improve.
  const auto result =
      train(1, out,
            "--data.eval_file " + dir("synth/dev.h5").string() +
                " --eval_strategy steps --eval_steps 2 --save_steps 2 --early_stopping_patience 2 "
                "--early_stopping_threshold 100");
  EXPECT_NE(result.output.find("early stopping at step 6"), std::string::npos) << result.output;
  const auto state = read_json(out / "trainer_state.json");
  EXPECT_EQ(state["global_step"], 6);
  EXPECT_EQ(
      state["stateful_callbacks"]["EarlyStoppingCallback"]["attributes"]["early_stopping_patience_counter"],
      2);
}

}  // namespace
}  // namespace dtrain::train
