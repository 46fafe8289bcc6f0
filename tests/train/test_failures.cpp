// Failures under mpirun, end to end: a stopped rank and a hung rank end the job within their
// timeouts with a message naming the rank; a long checkpoint save is no false alarm; a crash is
// relaunched by launch/mpirun.sh --max-restarts (also on fewer ranks) and ends like an
// uninterrupted run; a full disk during a save is a clear error that keeps the earlier
// checkpoints; non-finite losses are skipped, counted, and stop the run after too many in a row.
// Faults come from DTRAIN_FAULT (common/fault_injection.h) or from signals sent by the test.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "model/hf/safetensors.h"
#include "support/background_run.h"
#include "support/test_support.h"
#include "train/checkpoint.h"
#include "train/tiny_model_config.h"
#include "train/training_runs.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using dtrain::testing::BackgroundRun;
using dtrain::testing::count_lines;
using dtrain::testing::log_entries;
using dtrain::testing::logged_losses;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;

const std::string kConfig = dtrain::testing::kTinyModelYaml + R"(
training:
  learning_rate: 1.0e-3
  warmup_steps: 2
  logging_steps: 1
  save_steps: 2
  per_device_train_batch_size: 6
  disable_tqdm: true
)";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The process of rank `rank` among the children of `launcher` (mpirun starts the ranks of its own
// node itself), found by the rank Open MPI puts in their environment.
std::optional<pid_t> rank_process(pid_t launcher, int rank) {
  const std::string wanted = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid ...: comm may hold spaces, so parse after its closing parenthesis.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 1));
    std::string state;
    pid_t parent = 0;
    fields >> state >> parent;
    if (parent != launcher) continue;
    const std::string environment = file_bytes(entry.path() / "environ");
    for (size_t start = 0; start < environment.size();) {
      const size_t end = environment.find('\0', start);
      if (environment.compare(start, end - start, wanted) == 0) return static_cast<pid_t>(std::stol(name));
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return std::nullopt;
}

// Alive: running or stopped, not a zombie waiting for its parent to reap it.
bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' &&
         line[close + 2] != 'X';
}

class Failures : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir("dtrain-failures");
    const auto made = run_command(dtrain::testing::dtrain_binary().string() + " prepare-synthetic --output " +
                                  (scratch_->path() / "synth").string() + " --train-rows 100 --dev-rows 24");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::ofstream(scratch_->path() / "config.yaml") << kConfig;
  }
  static void TearDownTestSuite() { delete scratch_; }

  static fs::path dir(const std::string& name) { return scratch_->path() / name; }

  // `dtrain train ...` writing to `output_dir`: after `launcher` (an mpirun command line), with
  // DTRAIN_FAULT=`fault` when given.
  static std::string train_command(const std::string& launcher, const fs::path& output_dir,
                                   const std::string& extra, const std::string& fault = "") {
    return "env OMP_NUM_THREADS=1 " + (fault.empty() ? "" : "DTRAIN_FAULT='" + fault + "' ") + launcher +
           " train --config " + dir("config.yaml").string() + " --data.train_file " +
           dir("synth/train.h5").string() + " --data.tokenizer " + dir("synth/tokenizer").string() +
           " --output_dir " + output_dir.string() + " " + extra;
  }
  static std::string on_ranks(int ranks) { return dtrain::testing::mpirun_dtrain(ranks); }
  // launch/mpirun.sh with its own options, running the built dtrain.
  static std::string through_mpirun_sh(const std::string& options) {
    return "bash " + (dtrain::testing::source_dir() / "launch/mpirun.sh").string() + " " + options + " " +
           dtrain::testing::dtrain_binary().string();
  }

  static dtrain::testing::CommandResult run(const std::string& command, int expected_exit = 0) {
    auto result = run_command(command);
    EXPECT_EQ(result.exit_code, expected_exit) << command << "\n" << result.output;
    return result;
  }

  // SIGSTOP to one rank of a running 2-rank job: the job must end within heartbeat_timeout + 10 s,
  // naming that rank, its host and pid.
  static void expect_stopped_rank_is_named(int stopped_rank) {
    const fs::path out = dir("stopped-" + std::to_string(stopped_rank));
    const double heartbeat_timeout = 3;
    BackgroundRun job(
        train_command(on_ranks(2), out, "--max_steps 1000000 --save_strategy no --heartbeat_timeout 3"),
        out.string() + ".out");
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (count_lines(out / "log.jsonl") < 3 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GE(count_lines(out / "log.jsonl"), 3u) << job.output();
    const std::optional<pid_t> rank = rank_process(job.pid(), stopped_rank);
    ASSERT_TRUE(rank.has_value()) << "no rank " << stopped_rank << " among mpirun's children";

    ASSERT_EQ(::kill(*rank, SIGSTOP), 0);
    const auto stopped_at = Clock::now();
    const std::optional<int> status = job.wait_for(std::chrono::seconds(60));
    const double elapsed = seconds_since(stopped_at);
    if (process_alive(*rank)) ::kill(*rank, SIGKILL);  // never leave a stopped process behind
    ASSERT_TRUE(status.has_value()) << "still running 60 s after SIGSTOP:\n" << job.output();
    EXPECT_NE(*status, 0) << job.output();
    EXPECT_LE(elapsed, heartbeat_timeout + 10) << job.output();
    std::printf("the job ended %.1f s after SIGSTOP of rank %d (heartbeat_timeout %g s)\n", elapsed,
                stopped_rank, heartbeat_timeout);
    const int survivor = 1 - stopped_rank;
    const std::string line = "dtrain: error: [rank " + std::to_string(survivor) + "] heartbeat: rank " +
                             std::to_string(stopped_rank) + " (host ";
    EXPECT_NE(job.output().find(line), std::string::npos) << job.output();
    EXPECT_NE(job.output().find("pid " + std::to_string(*rank) + ") has sent no heartbeat"),
              std::string::npos)
        << job.output();
    EXPECT_NE(job.output().find("last seen at step "), std::string::npos) << job.output();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE(process_alive(*rank)) << "the stopped rank outlived the job";
  }

  static ScratchDir* scratch_;
};
ScratchDir* Failures::scratch_ = nullptr;

TEST_F(Failures, AStoppedRankIsNamedAndEndsTheJobWithinTheHeartbeatTimeout) {
  expect_stopped_rank_is_named(1);  // rank 0 finds it
}

TEST_F(Failures, AStoppedRankZeroIsNamedByTheOtherRanks) {
  expect_stopped_rank_is_named(0);
}

TEST_F(Failures, AHangInDataLoadingIsCaughtByTheCollectiveDeadline) {
  const fs::path out = dir("hang");
  BackgroundRun job(train_command(on_ranks(2), out, "--max_steps 1000 --save_strategy no --ddp_timeout 10",
                                  "kind=hang_in_data,rank=1,step=4"),
                    out.string() + ".out");
  ASSERT_TRUE(job.wait_for_output("rank 1 hangs in data loading at step 4", std::chrono::seconds(60)))
      << job.output();
  const auto hung_at = Clock::now();
  const std::optional<int> status = job.wait_for(std::chrono::seconds(60));
  const double elapsed = seconds_since(hung_at);
  ASSERT_TRUE(status.has_value()) << job.output();
  EXPECT_NE(*status, 0);
  EXPECT_LE(elapsed, 20) << job.output();
  std::printf("the job ended %.1f s after rank 1 hung (ddp_timeout 10 s)\n", elapsed);
  EXPECT_GE(elapsed, 9) << "ddp_timeout 10 cannot fire sooner:\n" << job.output();
  // Rank 0 waits in the step's first collective: the all-gather of each rank's loss units.
  const std::regex verdict(
      R"(dtrain: error: \[rank [01]\] ddp_timeout: rank 0 has waited 1\d\.\d s in collective #\d+ \(all_gather, 8 bytes, step 4\) for rank 1 \(host [^,]+, pid \d+\), last seen at step 4 in phase data after collective #\d+, no progress for 1\d\.\d s \(ddp_timeout 10 s\))");
  EXPECT_TRUE(std::regex_search(job.output(), verdict)) << job.output();
}

TEST_F(Failures, ALongCheckpointSaveOnRankZeroIsNoDeadlock) {
  const fs::path out = dir("stall");
  BackgroundRun job(train_command(on_ranks(2), out, "--max_steps 4 --ddp_timeout 5",
                                  "kind=stall_save,rank=0,step=2,seconds=20"),
                    out.string() + ".out");
  const std::optional<int> status = job.wait_for(std::chrono::seconds(180));
  ASSERT_TRUE(status.has_value()) << job.output();
  EXPECT_EQ(*status, 0) << job.output();
  EXPECT_NE(job.output().find("rank 0 stalls 20 s in the checkpoint save at step 2"), std::string::npos);
  EXPECT_EQ(job.output().find("dtrain: error"), std::string::npos) << job.output();
  EXPECT_NE(job.output().find("saving is not a deadlock"), std::string::npos) << job.output();
  EXPECT_EQ(checkpoint_problem(out / "checkpoint-2"), "");
  EXPECT_EQ(checkpoint_problem(out / "checkpoint-4"), "");
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));
}

// Crashes at step 5 (rank 1, first launch) and in the middle of step 6's save (rank 0, second
// launch): two relaunches from the latest checkpoint, the second removing the interrupted save's
// folder, and the end is bitwise the uninterrupted run.
TEST_F(Failures, CrashedRanksAreRelaunchedFromTheLatestCheckpointAndEndLikeAnUninterruptedRun) {
  const std::string run_args = "--max_steps 8";
  const auto relaunched =
      run(train_command(through_mpirun_sh("-np 2 --max-restarts 2"), dir("crash"), run_args,
                        "kind=crash,rank=1,step=5,restart=0;kind=crash_in_save,rank=0,step=6,restart=1"));
  EXPECT_NE(relaunched.output.find("rank 1 crashes (SIGKILL) at step 5"), std::string::npos)
      << relaunched.output;
  EXPECT_NE(relaunched.output.find("relaunch 1 of 2 on 2 rank(s)"), std::string::npos) << relaunched.output;
  EXPECT_NE(relaunched.output.find("rank 0 crashes (SIGKILL) while saving the checkpoint at step 6"),
            std::string::npos);
  EXPECT_NE(relaunched.output.find("relaunch 2 of 2 on 2 rank(s)"), std::string::npos) << relaunched.output;
  const std::regex removed(R"(removed \S+/checkpoint-6\.tmp-\d+, left by a save that was interrupted)");
  EXPECT_TRUE(std::regex_search(relaunched.output, removed)) << relaunched.output;
  for (const auto& entry : fs::directory_iterator(dir("crash"))) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }

  run(train_command(on_ranks(2), dir("crash-reference"), run_args));
  EXPECT_EQ(logged_losses(dir("crash")), logged_losses(dir("crash-reference")));
  EXPECT_EQ(file_bytes(dir("crash/model.safetensors")), file_bytes(dir("crash-reference/model.safetensors")));
}

TEST_F(Failures, WithMinRanksARelaunchContinuesOnFewerRanksWithTheSameGlobalBatch) {
  const std::string run_args = "--max_steps 8 --ddp_timeout 5";
  const auto relaunched =
      run(train_command(through_mpirun_sh("-np 2 --max-restarts 1 --min-ranks 1"), dir("fewer"), run_args,
                        "kind=hang_in_data,rank=1,step=5,restart=0"));
  EXPECT_NE(relaunched.output.find("ddp_timeout: rank 0 has waited"), std::string::npos) << relaunched.output;
  EXPECT_NE(relaunched.output.find("relaunch 1 of 1 on 1 rank(s)"), std::string::npos) << relaunched.output;
  EXPECT_NE(relaunched.output.find("on 1 ranks it is kept with per_device_train_batch_size 6 (was 6) and "
                                   "gradient_accumulation_steps 2 (was 1)"),
            std::string::npos)
      << relaunched.output;

  run(train_command(on_ranks(2), dir("fewer-reference"), run_args));
  dtrain::testing::expect_same_run_under_fp16(dir("fewer-reference"), dir("fewer"));
}

// A small tmpfs mounted over a folder for the length of a test (root only).
class SmallDisk {
 public:
  SmallDisk(const fs::path& folder, size_t bytes) : folder_(folder) {
    fs::create_directories(folder);
    const std::string options = "size=" + std::to_string(bytes);
    mounted_ = ::mount("tmpfs", folder.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(folder_.c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  // Fills all but `left` bytes with a file.
  void fill_leaving(size_t left) const {
    struct statvfs stats {};
    ASSERT_EQ(::statvfs(folder_.c_str(), &stats), 0);
    const size_t available = stats.f_bavail * stats.f_frsize;
    ASSERT_GT(available, left);
    std::ofstream(folder_ / "filler", std::ios::binary) << std::string(available - left, '\0');
  }
  void empty_filler() const { fs::remove(folder_ / "filler"); }

 private:
  fs::path folder_;
  bool mounted_ = false;
  std::string error_;
};

TEST_F(Failures, ADiskThatFillsDuringASaveIsAClearErrorAndKeepsTheEarlierCheckpoints) {
  if (::geteuid() != 0) DTRAIN_MISSING_REFERENCE("mounting a small tmpfs for the full-disk test needs root");
  const SmallDisk disk(dir("small-disk"), 16 << 20);
  if (!disk.mounted()) DTRAIN_MISSING_REFERENCE("cannot mount a tmpfs: " << disk.error());
  const fs::path out = dir("small-disk/run");
  run(train_command(on_ranks(2), out, "--max_steps 2"));
  ASSERT_EQ(checkpoint_problem(out / "checkpoint-2"), "");
  const size_t checkpoint_bytes = file_bytes(out / "checkpoint-2/model.safetensors").size() +
                                  file_bytes(out / "checkpoint-2/optimizer.safetensors").size();

  // Room for the run's logs, not for another checkpoint.
  disk.fill_leaving(checkpoint_bytes / 2);
  const auto full = run(train_command(on_ranks(2), out, "--max_steps 4 --resume_from_checkpoint latest"), 1);
  const std::regex error(
      R"(dtrain: error: \[rank 0\] saving \S+/checkpoint-4 failed: cannot write \S+: No space left on device\. The earlier checkpoints are intact; the partial folder was removed)");
  EXPECT_TRUE(std::regex_search(full.output, error)) << full.output;
  EXPECT_EQ(checkpoint_problem(out / "checkpoint-2"), "") << "the earlier checkpoint must survive";
  for (const auto& entry : fs::directory_iterator(out)) {
    EXPECT_EQ(entry.path().filename().string().find("checkpoint-4"), std::string::npos) << entry.path();
  }

  disk.empty_filler();
  const auto resumed = run(train_command(on_ranks(2), out, "--max_steps 4 --resume_from_checkpoint latest"));
  EXPECT_NE(resumed.output.find("resumed from " + (out / "checkpoint-2").string()), std::string::npos)
      << resumed.output;
  EXPECT_EQ(checkpoint_problem(out / "checkpoint-4"), "");
}

TEST_F(Failures, NonFiniteLossesAreSkippedAndCountedThenStopTheRunAfterTooManyInARow) {
  const fs::path out = dir("nan");
  const auto skipped =
      run(train_command(on_ranks(2), out, "--max_steps 6", "kind=nan_loss,rank=1,step=3,count=2"));
  EXPECT_NE(
      skipped.output.find("step 3: non-finite loss on rank 1; update skipped on every rank (1 in a row; "
                          "max_consecutive_nonfinite_steps 10)"),
      std::string::npos)
      << skipped.output;
  const auto entries = log_entries(out);
  for (const auto& entry : entries) {
    if (!entry.contains("loss")) continue;
    const int64_t step = entry["step"];
    EXPECT_EQ(entry.value("skipped_steps", 0), step == 3 || step == 4 ? 1 : 0) << entry.dump();
    EXPECT_EQ(entry["loss"].is_null(), step == 3 || step == 4) << entry.dump();
  }
  // Steps 3 and 4 changed neither the weights nor the optimizer state; steps 5 and 6 trained again.
  EXPECT_EQ(file_bytes(out / "checkpoint-4/model.safetensors"),
            file_bytes(out / "checkpoint-2/model.safetensors"));
  EXPECT_EQ(file_bytes(out / "checkpoint-4/optimizer.safetensors"),
            file_bytes(out / "checkpoint-2/optimizer.safetensors"));
  EXPECT_NE(file_bytes(out / "checkpoint-6/model.safetensors"),
            file_bytes(out / "checkpoint-4/model.safetensors"));

  const fs::path stopped = dir("nan-stop");
  const auto diverged =
      run(train_command(on_ranks(2), stopped, "--max_steps 20 --max_consecutive_nonfinite_steps 3",
                        "kind=nan_loss,rank=1,step=3,count=100"),
          1);
  EXPECT_NE(diverged.output.find("step 5: 3 steps in a row (3 to 5) had a non-finite loss or gradients (the "
                                 "last: non-finite loss on rank 1; max_consecutive_nonfinite_steps 3)"),
            std::string::npos)
      << diverged.output;
  EXPECT_EQ(checkpoint_problem(stopped / "checkpoint-2"), "");
  EXPECT_FALSE(fs::exists(stopped / "model.safetensors")) << "no final model from a diverged run";
}

}  // namespace
}  // namespace dtrain::train
