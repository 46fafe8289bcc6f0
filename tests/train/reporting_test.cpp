// The trainer's reporters against the packages they imitate: CRC-32C and event files as the
// tensorboard package reads them (its own CRC, record reader and EventAccumulator), TensorBoard tags
// as transformers' TensorBoardCallback names them, results files as transformers' save_metrics writes
// them. tests/train/tensorboard_reference.py runs the Python side.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/test_support.h"
#include "train/reporting/crc32c.h"
#include "train/reporting/reporters.h"
#include "train/reporting/results_files.h"
#include "train/reporting/tensorboard_reporter.h"

namespace dtrain::train::reporting {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;
using json = nlohmann::json;

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
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

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out.push_back(kDigits[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kDigits[static_cast<unsigned char>(c) & 15]);
  }
  return out;
}

TEST(Crc32c, MatchesTensorBoard) {
  DTRAIN_REQUIRE_PYTHON("tensorboard");
  std::vector<std::string> blobs = {"",
                                    "a",
                                    "123456789",
                                    std::string(32, '\0'),
                                    std::string(32, '\xff'),
                                    std::string("\x08\x00\x00\x00\x00\x00\x00\x00", 8)};
  std::string ascending, random_bytes;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  std::mt19937 random(3);
  for (int i = 0; i < 1000; ++i) random_bytes.push_back(static_cast<char>(random() & 0xFF));
  blobs.push_back(ascending);
  blobs.push_back(random_bytes);
  json hexes = json::array();
  for (const auto& blob : blobs) hexes.push_back(hex(blob));
  const json expected = reference({{"crc", hexes}})["crc"];
  ASSERT_EQ(expected.size(), blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) {
    EXPECT_EQ(crc32c(blobs[i]), expected[i][0].get<uint32_t>()) << hexes[i];
    EXPECT_EQ(masked_crc32c(blobs[i]), expected[i][1].get<uint32_t>()) << hexes[i];
  }
}

// Log entries shaped like the trainer's: training logs, an evaluation, the end-of-training summary.
json training_entries() {
  return json::array(
      {{{"loss", 0.6931471805599453},
        {"grad_norm", 0.0},
        {"learning_rate", 1e-4},
        {"epoch", 0.5},
        {"step", 10},
        {"samples_per_second", 1234.5},
        {"tokens_per_second", 98765.4321},
        {"step_seconds", {{"data", 0.001}, {"forward", 0.02}, {"backward", 0.03}}}},
       {{"loss", -1.5e-7}, {"grad_norm", 3.4e38}, {"learning_rate", 0.0}, {"epoch", 1.0}, {"step", 20}},
       {{"eval_loss", 0.25},
        {"eval_accuracy", 1.0},
        {"eval_f1", 0.875},
        {"eval_runtime", 0.5},
        {"eval_samples", 10},
        {"epoch", 1.0},
        {"step", 20}},
       {{"test_bleu", 31.5}, {"note", "strings are not scalars"}, {"step", 20}},
       {{"train_runtime", 12.5},
        {"train_samples_per_second", 80.0},
        {"train_steps_per_second", 1.6},
        {"train_loss", 0.4},
        {"epoch", 1.0},
        {"step", 20}}});
}

// Trainer's default folder, output_dir/runs/<Mon>DD_HH-MM-SS_<host>, compared but for the time of day.
void expect_default_logging_dir_like(const std::string& expected) {
  TrainingArguments args;
  args.output_dir = "runs/x";
  ::unsetenv("TENSORBOARD_LOGGING_DIR");
  const std::string ours = resolve_logging_dir(args).string();
  ASSERT_EQ(ours.rfind("runs/x/runs/", 0), 0u) << ours;
  const std::string name = ours.substr(std::string("runs/x/").size());
  ASSERT_EQ(name.size(), expected.size()) << name << " vs " << expected;
  const size_t date = std::string("runs/Nov29").size(), host = std::string("runs/Nov29_09-01-02").size();
  EXPECT_EQ(name.substr(0, date), expected.substr(0, date));
  EXPECT_EQ(name.substr(host), expected.substr(host));
}

TEST(TensorBoardReporter, EventFilesReadByTensorBoardWithTrainerTagsAndFolder) {
  DTRAIN_REQUIRE_PYTHON("tensorboard transformers");
  ScratchDir dir("dtrain-tensorboard");
  const json entries = training_entries();
  {
    TensorBoardReporter reporter(dir / "logs", std::nullopt);
    for (const auto& entry : entries) reporter.report(entry);
  }
  const json answers = reference({{"tags", entries}, {"events", (dir / "logs").string()}, {"logdir", true}});
  expect_default_logging_dir_like(answers["logdir"]);
  const json& trainer_tags = answers["tags"];
  const json& read = answers["events"];

  // The tags: Trainer's for every top-level number; dtrain also flattens step_seconds.
  std::set<std::string> expected_tags;
  for (const auto& tags : trainer_tags) {
    for (const auto& tag : tags) expected_tags.insert(tag.get<std::string>());
  }
  for (const std::string part : {"data", "forward", "backward"})
    expected_tags.insert("train/step_seconds/" + part);
  std::set<std::string> read_tags;
  for (const auto& [tag, points] : read["scalars"].items()) read_tags.insert(tag);
  EXPECT_EQ(read_tags, expected_tags);
  EXPECT_TRUE(read_tags.count("train/loss") && read_tags.count("eval/accuracy") &&
              read_tags.count("test/bleu"));

  // Every value at its step, as the float32 TensorBoard stores.
  for (const auto& entry : entries) {
    for (const auto& [tag, value] : tensorboard_scalars(entry)) {
      const json& points = read["scalars"][tag];
      bool found = false;
      for (const auto& point : points) {
        found = found || (point[0] == entry["step"] && point[1].get<float>() == value);
      }
      EXPECT_TRUE(found) << tag << " at step " << entry["step"] << ": " << points.dump();
    }
  }
  EXPECT_EQ(read["scalars"]["train/loss"].size(), 2u);
  EXPECT_EQ(read["scalars"]["train/grad_norm"][0][1], 0.0);  // a zero is written, not dropped

  // The file: one, named like TensorBoard's, starting with the file version event.
  ASSERT_EQ(read["files"].size(), 1u);
  const auto& [name, events] = *read["files"].items().begin();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  ASSERT_EQ(events.size(), entries.size() + 1);
  EXPECT_EQ(events[0]["kind"], "file_version");
  EXPECT_EQ(events[0]["file_version"], "brain.Event:2");
  EXPECT_EQ(events[0]["writer"], "dtrain");
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["kind"], "summary");
    EXPECT_EQ(events[i]["step"], entries[i - 1]["step"]);
    EXPECT_GT(events[i]["wall_time"].get<double>(), 1.7e9);
    for (const auto& value : events[i]["values"]) EXPECT_EQ(value[2], "simple_value");
  }
}

// A run resumed from its step-3 checkpoint into the same folder: TensorBoard shows the first run up to
// step 3 and the resumed run after it, not the steps the first run logged after its checkpoint.
TEST(TensorBoardReporter, ResumedRunReplacesStepsAfterItsCheckpoint) {
  DTRAIN_REQUIRE_PYTHON("tensorboard");
  ScratchDir dir("dtrain-tensorboard-resume");
  {
    TensorBoardReporter first(dir / "logs", std::nullopt);
    for (int step = 1; step <= 5; ++step) first.report({{"loss", 1.0 * step}, {"step", step}});
  }
  {
    TensorBoardReporter resumed(dir / "logs", 3);
    for (int step = 4; step <= 6; ++step) resumed.report({{"loss", 10.0 * step}, {"step", step}});
  }
  const json read = reference({{"events", (dir / "logs").string()}})["events"];
  EXPECT_EQ(read["files"].size(), 2u);
  EXPECT_EQ(read["scalars"]["train/loss"],
            json::parse("[[1,1.0],[2,2.0],[3,3.0],[4,40.0],[5,50.0],[6,60.0]]"));
}

TEST(TensorBoardReporter, UnwritableFolderIsAnError) {
  ScratchDir dir("dtrain-tensorboard-error");
  dtrain::testing::write_file(dir / "file", "not a folder");
  try {
    TensorBoardReporter reporter(dir / "file" / "logs", std::nullopt);
    ADD_FAILURE() << "expected an error";
  } catch (const dtrain::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create the TensorBoard log folder"), std::string::npos)
        << e.what();
  }
}

TEST(Reporters, LoggingDirSettingsComeFirst) {
  TrainingArguments args;
  args.output_dir = "runs/x";
  ::setenv("TENSORBOARD_LOGGING_DIR", "/tmp/tb-from-env", 1);
  EXPECT_EQ(resolve_logging_dir(args), "/tmp/tb-from-env");
  args.logging_dir = "logs/here";
  EXPECT_EQ(resolve_logging_dir(args), "logs/here");
  ::unsetenv("TENSORBOARD_LOGGING_DIR");
}

TEST(Reporters, TensorBoardOnlyWhenAskedResultsAlways) {
  ScratchDir dir("dtrain-reporters");
  TrainingArguments args;
  args.output_dir = dir.path().string();
  args.logging_dir = (dir / "tb").string();
  EXPECT_EQ(make_reporters(args, 10, std::nullopt).size(), 1u);
  EXPECT_FALSE(fs::exists(dir / "tb"));
  for (const auto& names : {std::vector<std::string>{"tensorboard"}, std::vector<std::string>{"all"}}) {
    args.report_to = names;
    EXPECT_EQ(make_reporters(args, 10, std::nullopt).size(), 2u);
    EXPECT_TRUE(fs::exists(dir / "tb"));
  }
}

// train_results.json, eval_results.json and all_results.json byte for byte as transformers' save_metrics
// writes them for the same calls.
TEST(ResultsFiles, LikeTrainerSaveMetrics) {
  DTRAIN_REQUIRE_PYTHON("transformers");
  ScratchDir dir("dtrain-results");
  const json train_entry = {{"train_runtime", 12.3456},
                            {"train_samples_per_second", 1234.5},
                            {"train_steps_per_second", 1e-05},
                            {"train_loss", 0.6931471805599453},
                            {"epoch", 3.0},
                            {"step", 60}};
  const json eval = {{"eval_loss", 0.25},
                     {"eval_accuracy", 0.8119266055045872},
                     {"eval_samples", 872},
                     {"eval_runtime", 0.98},
                     {"epoch", 3.0}};
  const json second_eval = {{"eval_loss", 0.125}, {"eval_bleu", 35.1234}, {"epoch", 4.0}};
  fs::create_directories(dir / "ours");
  TrainResultsReporter reporter(dir / "ours", 100);
  reporter.report({{"loss", 1.0}, {"step", 5}});  // not the end of training: nothing written
  EXPECT_FALSE(fs::exists(dir / "ours" / "train_results.json"));
  reporter.report(train_entry);
  save_metrics(dir / "ours", "eval", eval);
  const std::string after_first_eval = read_file(dir / "ours" / "all_results.json");
  save_metrics(dir / "ours", "eval", second_eval);

  json train_metrics = train_entry;
  train_metrics.erase("step");
  train_metrics["train_samples"] = 100;
  fs::create_directories(dir / "theirs");
  const json calls = json::array({json::array({"train", train_metrics}), json::array({"eval", eval}),
                                  json::array({"eval", second_eval})});
  const json all_results =
      reference({{"save_metrics", json::array({(dir / "theirs").string(), calls})}})["save_metrics"];
  ASSERT_EQ(all_results.size(), 3u);
  EXPECT_EQ(read_file(dir / "ours" / "train_results.json"), read_file(dir / "theirs" / "train_results.json"));
  EXPECT_EQ(read_file(dir / "ours" / "eval_results.json"), read_file(dir / "theirs" / "eval_results.json"));
  EXPECT_EQ(after_first_eval, all_results[1].get<std::string>());
  EXPECT_EQ(read_file(dir / "ours" / "all_results.json"), all_results[2].get<std::string>());

  dtrain::testing::write_file(dir / "ours" / "all_results.json", "{not json");
  try {
    save_metrics(dir / "ours", "eval", eval);
    ADD_FAILURE() << "expected an error";
  } catch (const dtrain::Error& e) {
    EXPECT_NE(std::string(e.what()).find("all_results.json: not valid JSON"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dtrain::train::reporting
