// What a Trainer user looks at after `dtrain train`: TensorBoard event files (read back by the
// tensorboard package and compared with log.jsonl), train/eval/all_results.json, and `dtrain plot`'s PNG.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "train/tiny_model_config.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;
using json = nlohmann::json;

const std::string kConfig = dtrain::testing::kTinyModelYaml + R"(
training:
  learning_rate: 1.0e-3
  max_steps: 6
  logging_steps: 2
  eval_strategy: steps
  eval_steps: 3
  save_strategy: "no"
  disable_tqdm: true
)";

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<json> read_log(const fs::path& path) {
  std::vector<json> entries;
  std::ifstream log(path);
  for (std::string line; std::getline(log, line);) entries.push_back(json::parse(line));
  return entries;
}

// tensorboard_reference.py's answers to `job` (see the script).
json reference(const json& job) {
  ScratchDir dir("dtrain-reporting-reference");
  std::ofstream(dir / "job.json") << job.dump();
  const std::string script =
      (dtrain::testing::source_dir() / "tests/train/tensorboard_reference.py").string();
  const auto run = run_command("'" + dtrain::testing::python() + "' " + script + " " +
                               (dir / "job.json").string() + " " + (dir / "answers.json").string());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  return run.exit_code == 0 ? json::parse(read_file(dir / "answers.json")) : json::object();
}

class TrainReporting : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir("dtrain-train-reporting");
    const auto made = run_command(dtrain::testing::dtrain_binary().string() + " prepare-synthetic --output " +
                                  (scratch_->path() / "synth").string() + " --train-rows 100 --dev-rows 20");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::ofstream(scratch_->path() / "config.yaml") << kConfig;
  }
  static void TearDownTestSuite() { delete scratch_; }

  static fs::path train(const std::string& name, int ranks, const std::string& extra) {
    const fs::path out = scratch_->path() / name;
    const fs::path data = scratch_->path() / "synth";
    const std::string command = dtrain::testing::mpirun_dtrain(ranks) + " train --config " +
                                (scratch_->path() / "config.yaml").string() + " --data.train_file " +
                                (data / "train.h5").string() + " --data.eval_file " +
                                (data / "dev.h5").string() + " --output_dir " + out.string() + " " + extra;
    const auto result = run_command(command);
    EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
    return out;
  }

  static ScratchDir* scratch_;
};
ScratchDir* TrainReporting::scratch_ = nullptr;

TEST_F(TrainReporting, TensorBoardEventsResultsFilesAndPlot) {
  DTRAIN_REQUIRE_PYTHON("tensorboard transformers PIL");
  const fs::path out = train("tensorboard", 2, "--report_to tensorboard");
  const std::vector<json> log = read_log(out / "log.jsonl");
  ASSERT_EQ(log.size(), 3u + 2u + 1u);  // logs at steps 2, 4, 6; evaluations at 3, 6; the summary

  // Trainer's logging_dir: one runs/<date>_<host> folder with one event file (rank 0's).
  std::vector<fs::path> runs;
  for (const auto& entry : fs::directory_iterator(out / "runs")) runs.push_back(entry.path());
  ASSERT_EQ(runs.size(), 1u);
  const json answers = reference({{"events", runs[0].string()}, {"tags", log}});
  const json& read = answers["events"];
  EXPECT_EQ(read["files"].size(), 1u);

  // Every number of every log.jsonl entry is a scalar at its step, under the tag Trainer gives it.
  const json& tags = answers["tags"];
  ASSERT_EQ(tags.size(), log.size());
  size_t compared = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    for (const auto& tag_json : tags[i]) {
      const std::string tag = tag_json.get<std::string>();
      const std::string key =
          tag.rfind("eval/", 0) == 0 ? "eval_" + tag.substr(5) : tag.substr(tag.find('/') + 1);
      const float value = log[i][key].get<float>();
      bool found = false;
      for (const auto& point : read["scalars"][tag])
        found = found || (point[0] == log[i]["step"] && point[1] == value);
      EXPECT_TRUE(found) << tag << " = " << value << " at step " << log[i]["step"] << ": "
                         << read["scalars"][tag];
      ++compared;
    }
  }
  EXPECT_GT(compared, 30u);
  for (const std::string tag :
       {"train/loss", "train/learning_rate", "train/grad_norm", "train/samples_per_second", "eval/loss",
        "eval/accuracy", "train/train_loss"}) {
    EXPECT_TRUE(read["scalars"].contains(tag)) << tag;
  }
  EXPECT_EQ(read["scalars"]["train/loss"].size(), 3u);
  EXPECT_EQ(read["scalars"]["eval/accuracy"].size(), 2u);

  // train_results.json: the summary entry as run_glue.py saves it; all_results.json holds it.
  json expected_train = log.back();
  expected_train.erase("step");
  expected_train["train_samples"] = 100;
  EXPECT_EQ(json::parse(read_file(out / "train_results.json")), expected_train);
  EXPECT_EQ(json::parse(read_file(out / "all_results.json")), expected_train);
  EXPECT_EQ(expected_train["epoch"], log[log.size() - 2]["epoch"]);

  // The final evaluation: dtrain evaluate --output-dir adds eval_results.json and merges all_results.json.
  const auto evaluated = run_command(dtrain::testing::mpirun_dtrain(2) + " evaluate --model " + out.string() +
                                     " --data " + (scratch_->path() / "synth/dev.h5").string() +
                                     " --output-dir " + out.string() + " 2>/dev/null");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  json expected_eval = json::parse(evaluated.output);
  expected_eval["epoch"] = json::parse(read_file(out / "trainer_state.json"))["epoch"];
  EXPECT_EQ(json::parse(read_file(out / "eval_results.json")), expected_eval);
  json expected_all = expected_train;
  expected_all.update(expected_eval);
  EXPECT_EQ(json::parse(read_file(out / "all_results.json")), expected_all);
  EXPECT_EQ(expected_eval["eval_accuracy"], log[log.size() - 2]["eval_accuracy"]);  // the same final model

  // dtrain plot: a PNG of the requested size that PIL decodes completely.
  const std::string dtrain = dtrain::testing::dtrain_binary().string();
  const auto plotted = run_command(dtrain + " plot " + out.string() + " --size 800x600");
  ASSERT_EQ(plotted.exit_code, 0) << plotted.output;
  const fs::path custom = scratch_->path() / "plots" / "curves.png";
  const auto plotted_custom =
      run_command(dtrain + " plot " + (out / "log.jsonl").string() + " --output " + custom.string());
  ASSERT_EQ(plotted_custom.exit_code, 0) << plotted_custom.output;
  const std::string check_png =
      "'" + dtrain::testing::python() +
      "' -c 'import sys; from PIL import Image\n"
      "for path in sys.argv[1:]:\n"
      "    image = Image.open(path); image.verify(); image = Image.open(path); image.load()\n"
      "    print(image.format, *image.size)' " +
      (out / "training_curves.png").string() + " " + custom.string();
  const auto checked = run_command(check_png);
  ASSERT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_EQ(checked.output, "PNG 800 600\nPNG 1000 900\n");
}

TEST_F(TrainReporting, ReportToNoneWritesNoEventsAndLoggingDirIsHonoured) {
  const fs::path quiet = train("none", 1, "--report_to '[none]' --eval_strategy no");
  EXPECT_FALSE(fs::exists(quiet / "runs"));
  EXPECT_TRUE(fs::exists(quiet / "train_results.json"));
  const fs::path logs = scratch_->path() / "tensorboard-logs";
  const fs::path loud = train("all", 1, "--report_to all --logging_dir " + logs.string());
  EXPECT_FALSE(fs::exists(loud / "runs"));
  size_t event_files = 0;
  for (const auto& entry : fs::directory_iterator(logs)) {
    event_files += entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  }
  EXPECT_EQ(event_files, 1u);
}

TEST_F(TrainReporting, PlotErrors) {
  const fs::path run = scratch_->path() / "bad-run";
  dtrain::testing::write_file(run / "log.jsonl", "{\"loss\": 1.0, \"step\": 1}\n{oops\n");
  const std::string dtrain = dtrain::testing::dtrain_binary().string();
  auto result = run_command(dtrain + " plot " + run.string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("log.jsonl:2: not a JSON object"), std::string::npos) << result.output;

  dtrain::testing::write_file(run / "log.jsonl",
                              "{\"loss\": 1.0, \"step\": 1}\n{\"loss\": 0.5, \"step\": 2}\n");
  result = run_command("env PATH=" + (scratch_->path() / "no-such-folder").string() + " " + dtrain +
                       " plot " + run.string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("plot: gnuplot is not installed"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(run / "training_curves.png"));

  dtrain::testing::write_file(run / "log.jsonl", "{\"train_runtime\": 1.0, \"step\": 0}\n");
  result = run_command(dtrain + " plot " + run.string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("no training or evaluation entries to plot"), std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace dtrain::train
