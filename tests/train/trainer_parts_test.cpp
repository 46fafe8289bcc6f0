// The torch-free parts of the trainer against Hugging Face Trainer's own code
// (tests/train/trainer_reference.py): when to log, evaluate and save (DefaultFlowCallback), the best
// metric and early stopping (EarlyStoppingCallback, Trainer._determine_best_metric), and
// trainer_state.json as TrainerState reads and writes it.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/error_matchers.h"
#include "support/test_support.h"
#include "train/best_model.h"
#include "train/trainer_state.h"
#include "train/training_schedule.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::python;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;
using nlohmann::json;

// Runs trainer_reference.py on `request` and returns what it printed.
json reference(const json& request, const fs::path& folder) {
  std::ofstream(folder / "request.json") << request.dump();
  const auto run = run_command(python() + " " +
                               (dtrain::testing::source_dir() / "tests/train/trainer_reference.py").string() +
                               " " + (folder / "request.json").string() + " 2>&1");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  try {
    return json::parse(run.output);
  } catch (const json::exception&) {
    ADD_FAILURE() << "not JSON: " << run.output;
    return json();
  }
}

// The TrainingArguments of a reference case, as dtrain reads them.
TrainingArguments arguments_of(const json& settings) {
  TrainingArguments args;
  args.output_dir = "unused";
  args.logging_strategy = settings.value("logging_strategy", args.logging_strategy);
  args.logging_steps = settings.value("logging_steps", args.logging_steps);
  args.logging_first_step = settings.value("logging_first_step", false);
  args.eval_strategy = settings.value("eval_strategy", args.eval_strategy);
  if (settings.contains("eval_steps")) args.eval_steps = settings["eval_steps"].get<double>();
  args.save_strategy = settings.value("save_strategy", args.save_strategy);
  args.save_steps = settings.value("save_steps", args.save_steps);
  if (settings.contains("metric_for_best_model"))
    args.metric_for_best_model = settings["metric_for_best_model"].get<std::string>();
  if (settings.contains("greater_is_better"))
    args.greater_is_better = settings["greater_is_better"].get<bool>();
  return args;
}

// 13 steps, epochs of 5: intervals in steps and as fractions of the run, every strategy.
json flow_cases() {
  json cases = json::array();
  for (const char* logging : {"no", "steps", "epoch"}) {
    for (const char* eval : {"no", "steps", "epoch"}) {
      for (const char* save : {"no", "steps", "epoch"}) {
        for (int variant = 0; variant < 2; ++variant) {
          json args = {{"logging_strategy", logging}, {"eval_strategy", eval}, {"save_strategy", save}};
          args["logging_steps"] = variant == 0 ? 3.0 : 0.25;
          args["logging_first_step"] = variant == 1;
          if (variant == 1) args["eval_steps"] = 2.0;
          args["save_steps"] = variant == 0 ? 4.0 : 0.5;
          cases.push_back({{"args", args}, {"max_steps", 13}, {"steps_per_epoch", 5}});
        }
      }
    }
  }
  return cases;
}

void expect_flow(const json& cases, const json& expected) {
  ASSERT_EQ(expected.size(), cases.size());
  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE(cases[c]["args"].dump());
    const TrainingSchedule schedule(arguments_of(cases[c]["args"]), 13, /*evaluates=*/true);
    // An interval means something only for its "steps" strategy (Trainer leaves the others at 500).
    const json intervals = {schedule.logging_interval(), schedule.eval_interval(), schedule.save_interval()};
    const char* strategies[] = {"logging_strategy", "eval_strategy", "save_strategy"};
    for (size_t i = 0; i < 3; ++i) {
      if (cases[c]["args"][strategies[i]] == "steps")
        EXPECT_EQ(intervals[i], expected[c]["intervals"][i]) << i;
    }
    // Trainer also logs, evaluates and saves after the last step (dtrain saves the final model
    // instead): compared up to the step before.
    for (int64_t step = 1; step < 13; ++step) {
      const bool epoch_ended = step % 5 == 0;
      const json decided = {schedule.logging_due(step, epoch_ended),
                            schedule.evaluation_due(step, epoch_ended), schedule.save_due(step, epoch_ended)};
      EXPECT_EQ(decided, expected[c]["decisions"][step - 1]) << "step " << step;
    }
  }
}

TEST(TrainingSchedule, WithoutEvaluationDataNothingIsEvaluated) {
  TrainingArguments args;
  args.eval_strategy = "steps";
  args.eval_steps = 1;
  const TrainingSchedule schedule(args, 10, /*evaluates=*/false);
  for (int64_t step = 1; step <= 10; ++step) EXPECT_FALSE(schedule.evaluation_due(step, step == 5));
}

json best_cases() {
  json cases = {
      // accuracy: higher is better; improvements by no more than the threshold count as none.
      {{"args", {{"metric_for_best_model", "accuracy"}}},
       {"patience", 2},
       {"threshold", 0.1},
       {"values", {0.5, 0.55, 0.7, 0.65, 0.9, 0.85, 0.8, 0.95}}},
      // loss (the default name when tracking): lower is better; ties do not improve.
      {{"args", {{"metric_for_best_model", "eval_loss"}}},
       {"patience", 3},
       {"threshold", 0.0},
       {"values", {1.0, 0.8, 0.8, 0.9, 0.7, 0.7, 0.75, 0.71}}},
      // greater_is_better overriding the name's default.
      {{"args", {{"metric_for_best_model", "loss"}, {"greater_is_better", true}}},
       {"patience", 1},
       {"threshold", 0.0},
       {"values", {0.3, 0.5, 0.4}}},
  };
  for (auto& item : cases) {  // what TrainingArguments needs to track the best model
    item["args"]["eval_strategy"] = "steps";
    item["args"]["save_strategy"] = "steps";
  }
  return cases;
}

void expect_best_model(const json& cases, const json& expected) {
  ASSERT_EQ(expected.size(), cases.size());

  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE(cases[c].dump());
    TrainingArguments args = arguments_of(cases[c]["args"]);
    args.early_stopping_patience = cases[c]["patience"].get<int64_t>();
    args.early_stopping_threshold = cases[c]["threshold"].get<double>();
    const BestModelPolicy policy(args);
    ASSERT_TRUE(policy.enabled());
    TrainerState state;
    for (size_t e = 0; e < cases[c]["values"].size(); ++e) {
      const int64_t step = static_cast<int64_t>(e) + 1;
      const json metrics = {{policy.metric_name(), cases[c]["values"][e]}, {"eval_other", 1.0}};
      const bool stop = policy.record(metrics, "checkpoint-" + std::to_string(step), state);
      const json& want = expected[c][e];
      EXPECT_EQ(state.early_stopping_patience_counter, want["counter"].get<int64_t>())
          << "evaluation " << step;
      EXPECT_EQ(stop, want["stop"].get<bool>()) << "evaluation " << step;
      EXPECT_EQ(state.best_metric.value(), want["best_metric"].get<double>()) << "evaluation " << step;
      EXPECT_EQ(state.best_model_checkpoint,
                "checkpoint-" + std::to_string(want["best_global_step"].get<int64_t>()));
    }
  }
}

TEST(BestModelPolicy, AMissingMetricIsAnErrorNamingWhatTheEvaluationHas) {
  TrainingArguments args;
  args.metric_for_best_model = "f1";
  TrainerState state;
  EXPECT_DTRAIN_ERROR(BestModelPolicy(args).record({{"eval_loss", 0.5}}, "checkpoint-1", state),
                      "metric_for_best_model: the evaluation has no 'eval_f1'", "eval_loss");
}

TrainerState example_state() {
  TrainerState state;
  state.global_step = 42;
  state.epoch = 1.75;
  state.log_history = {{{"loss", 0.5}, {"step", 40}}, {{"eval_loss", 0.25}, {"eval_f1", 0.8}, {"step", 42}}};
  state.best_metric = 0.25;
  state.best_global_step = 42;
  state.best_model_checkpoint = "runs/x/checkpoint-42";
  state.early_stopping_patience_counter = 1;
  state.max_steps = 96;
  state.num_train_epochs = 4;
  state.logging_steps = 10;
  state.eval_steps = 21;
  state.save_steps = 42;
  state.train_batch_size = 16;
  state.early_stopping_patience = 3;
  state.early_stopping_threshold = 0.01;
  state.dataset_identity = {{"source_file", "train.tsv"}, {"num_samples", 1536}};
  return state;
}

void expect_same_state(const TrainerState& actual, const TrainerState& expected) {
  EXPECT_EQ(actual.global_step, expected.global_step);
  EXPECT_EQ(actual.epoch, expected.epoch);
  EXPECT_EQ(actual.log_history, expected.log_history);
  EXPECT_EQ(actual.best_metric, expected.best_metric);
  EXPECT_EQ(actual.best_global_step, expected.best_global_step);
  EXPECT_EQ(actual.best_model_checkpoint, expected.best_model_checkpoint);
  EXPECT_EQ(actual.early_stopping_patience_counter, expected.early_stopping_patience_counter);
  EXPECT_EQ(actual.max_steps, expected.max_steps);
  EXPECT_EQ(actual.num_train_epochs, expected.num_train_epochs);
  EXPECT_EQ(actual.logging_steps, expected.logging_steps);
  EXPECT_EQ(actual.eval_steps, expected.eval_steps);
  EXPECT_EQ(actual.save_steps, expected.save_steps);
  EXPECT_EQ(actual.train_batch_size, expected.train_batch_size);
  EXPECT_EQ(actual.early_stopping_patience, expected.early_stopping_patience);
  EXPECT_EQ(actual.early_stopping_threshold, expected.early_stopping_threshold);
}

TEST(TrainerState, RoundTripsThroughTrainerStateJson) {
  ScratchDir dir;
  const TrainerState state = example_state();
  state.save(dir / "trainer_state.json");
  expect_same_state(TrainerState::load(dir / "trainer_state.json"), state);

  TrainerState fresh;  // nothing tracked yet: nulls, as Trainer writes them
  const json written = fresh.to_json();
  EXPECT_TRUE(written["best_metric"].is_null());
  EXPECT_TRUE(written["best_global_step"].is_null());
  EXPECT_TRUE(written["best_model_checkpoint"].is_null());
  EXPECT_FALSE(written["stateful_callbacks"].contains("EarlyStoppingCallback"));  // no patience
  expect_same_state(TrainerState::from_json(written), fresh);
}

TEST(TrainerState, TheDatasetIdentityStaysOutOfTrainerStateJson) {
  TrainerState state = example_state();
  json written = state.to_json();
  EXPECT_FALSE(written.contains("dtrain_dataset"));  // checkpoints keep it in data_position.json
  EXPECT_TRUE(TrainerState::from_json(written).dataset_identity.is_null());
  written["dtrain_dataset"] = state.dataset_identity;  // as earlier versions wrote it
  EXPECT_EQ(TrainerState::from_json(written).dataset_identity, state.dataset_identity);
}

TEST(TrainerState, ControlSaysWhetherTrainingStops) {
  TrainerState state = example_state();
  const auto stops = [&] {
    return state.to_json()["stateful_callbacks"]["TrainerControl"]["args"]["should_training_stop"]
        .get<bool>();
  };
  EXPECT_FALSE(stops());  // step 42 of 96, patience 3 with 1 evaluation without improvement
  state.early_stopping_patience_counter = 3;
  EXPECT_TRUE(stops());
  state.early_stopping_patience_counter = 0;
  state.global_step = state.max_steps;
  EXPECT_TRUE(stops());
}

// `loaded`: transformers' TrainerState of dtrain's example_state() file; hf.json in `folder`: one
// TrainerState.save_to_json wrote.
void expect_state_exchange(const json& loaded, const fs::path& folder) {
  const TrainerState state = example_state();

  // transformers' TrainerState(**json) takes every key dtrain writes, with the same values, and has
  // no other.
  const json written = state.to_json();
  for (const auto& [key, value] : written.items()) EXPECT_EQ(loaded[key], value) << key;
  for (const auto& [key, value] : loaded.items()) EXPECT_TRUE(written.contains(key)) << key;

  // What TrainerState.save_to_json wrote (with an EarlyStoppingCallback), read back.
  const TrainerState read = TrainerState::load(folder / "hf.json");
  EXPECT_EQ(read.global_step, 35);
  EXPECT_EQ(read.epoch, 2.5);
  EXPECT_EQ(read.max_steps, 70);
  EXPECT_EQ(read.logging_steps, 5);
  EXPECT_EQ(read.eval_steps, 7);
  EXPECT_EQ(read.save_steps, 14);
  EXPECT_EQ(read.train_batch_size, 16);
  EXPECT_EQ(read.num_train_epochs, 5);
  EXPECT_EQ(read.best_metric, 0.125);
  EXPECT_EQ(read.best_model_checkpoint, "runs/x/checkpoint-28");
  EXPECT_EQ(read.early_stopping_patience, 4);
  EXPECT_EQ(read.early_stopping_threshold, 0.25);
  EXPECT_EQ(read.early_stopping_patience_counter, 2);
  EXPECT_EQ(read.log_history, json::parse(R"([{"loss": 0.5, "step": 5}, {"eval_loss": 0.25, "step": 7}])"));
  EXPECT_TRUE(read.dataset_identity.is_null());
}

// One run of the reference (importing transformers takes seconds) checks all three parts.
TEST(TrainerReference, ScheduleBestModelAndTrainerStateMatchTransformers) {
  DTRAIN_REQUIRE_PYTHON("transformers");
  ScratchDir dir;
  example_state().save(dir / "dtrain.json");
  const json request = {
      {"flow", flow_cases()},
      {"best", best_cases()},
      {"state", {{"dtrain_file", (dir / "dtrain.json").string()}, {"out_file", (dir / "hf.json").string()}}}};
  const json expected = reference(request, dir.path());
  ASSERT_TRUE(expected.is_object());
  {
    SCOPED_TRACE("DefaultFlowCallback");
    expect_flow(request["flow"], expected["flow"]);
  }
  {
    SCOPED_TRACE("EarlyStoppingCallback and _determine_best_metric");
    expect_best_model(request["best"], expected["best"]);
  }
  {
    SCOPED_TRACE("TrainerState");
    expect_state_exchange(expected["state"]["loaded"], dir.path());
  }
}

TEST(TrainerState, AValueOfTheWrongTypeIsAnErrorNamingTheKey) {
  json written = example_state().to_json();
  written["global_step"] = "forty-two";
  EXPECT_DTRAIN_ERROR(TrainerState::from_json(written, "checkpoint-42/trainer_state.json"),
                      "checkpoint-42/trainer_state.json: 'global_step' has the wrong type (\"forty-two\")");
}

}  // namespace
}  // namespace dtrain::train
