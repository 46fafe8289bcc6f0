#include <gtest/gtest.h>

#include "common/error.h"
#include "support/test_support.h"
#include "train/run_config.h"

namespace dtrain::train {
namespace {

using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

const char* kMinimal = R"(
model:
  config: {hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, vocab_size: 30522, num_labels: 2}
data:
  train_file: train.h5
  eval_file: dev.h5
training:
  output_dir: runs/x
  learning_rate: 5.0e-4
)";

std::string expect_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  ScratchDir dir;
  write_file(dir / "c.yaml", yaml);
  try {
    RunConfig::load(dir / "c.yaml", overrides);
  } catch (const dtrain::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a configuration error";
  return "";
}

TEST(RunConfig, DefaultsAreHuggingFaceTrainingArguments) {
  ScratchDir dir;
  write_file(dir / "c.yaml", kMinimal);
  const auto config = RunConfig::load(dir / "c.yaml", {});
  const auto& t = config.training;
  EXPECT_EQ(t.output_dir, "runs/x");
  EXPECT_DOUBLE_EQ(t.learning_rate, 5e-4);
  EXPECT_EQ(t.per_device_train_batch_size, 8);
  EXPECT_EQ(t.per_device_eval_batch_size, 8);
  EXPECT_EQ(t.gradient_accumulation_steps, 1);
  EXPECT_DOUBLE_EQ(t.num_train_epochs, 3.0);
  EXPECT_EQ(t.max_steps, -1);
  EXPECT_DOUBLE_EQ(t.weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(t.adam_beta1, 0.9);
  EXPECT_DOUBLE_EQ(t.adam_beta2, 0.999);
  EXPECT_DOUBLE_EQ(t.adam_epsilon, 1e-8);
  EXPECT_DOUBLE_EQ(t.max_grad_norm, 1.0);
  EXPECT_EQ(t.lr_scheduler_type, "linear");
  EXPECT_DOUBLE_EQ(t.logging_steps, 500);
  EXPECT_EQ(t.seed, 42);
  EXPECT_EQ(t.effective_data_seed(), 42);
  EXPECT_EQ(t.bucket_cap_bytes(), 25 * 1024 * 1024);
  EXPECT_FALSE(t.fp16);
  EXPECT_EQ(t.report_to, std::vector<std::string>{"none"});
  EXPECT_FALSE(t.logging_dir.has_value());
  EXPECT_DOUBLE_EQ(t.ddp_timeout, 1800);  // Trainer's
  EXPECT_DOUBLE_EQ(t.heartbeat_timeout, 30);
  EXPECT_EQ(t.max_consecutive_nonfinite_steps, 10);
  EXPECT_FALSE(t.keep_global_batch_on_resume);
  EXPECT_EQ(config.model.config["hidden_size"], 128);
  EXPECT_EQ(config.data.eval_file, "dev.h5");
}

TEST(RunConfig, CommandLineOverridesEverySection) {
  ScratchDir dir;
  write_file(dir / "c.yaml", kMinimal);
  const auto config = RunConfig::load(
      dir / "c.yaml", {"--learning_rate", "1e-4", "--data.train_file=other.h5", "--model.config.hidden_size",
                       "64", "--save_total_limit", "2", "--fp16", "true", "--training.seed", "7"});
  EXPECT_DOUBLE_EQ(config.training.learning_rate, 1e-4);
  EXPECT_EQ(config.data.train_file, "other.h5");
  EXPECT_EQ(config.model.config["hidden_size"], 64);
  EXPECT_EQ(config.model.config["num_labels"], 2);
  ASSERT_TRUE(config.training.save_total_limit.has_value());
  EXPECT_EQ(*config.training.save_total_limit, 2);
  EXPECT_TRUE(config.training.fp16);
  EXPECT_EQ(config.training.seed, 7);
}

TEST(RunConfig, ResolvedYamlLoadsBackToTheSameConfiguration) {
  ScratchDir dir;
  write_file(dir / "c.yaml", kMinimal);
  const auto config =
      RunConfig::load(dir / "c.yaml", {"--warmup_ratio", "0.1", "--metric_for_best_model", "f1"});
  write_file(dir / "resolved.yaml", config.to_yaml());
  const auto again = RunConfig::load(dir / "resolved.yaml", {});
  EXPECT_EQ(again.to_yaml(), config.to_yaml());
  EXPECT_DOUBLE_EQ(again.training.warmup_ratio, 0.1);
  EXPECT_EQ(again.training.metric_for_best_model.value_or(""), "f1");
  EXPECT_EQ(again.model.config, config.model.config);
}

TEST(RunConfig, UnknownKeysAndWrongTypesAreErrorsNamingTheKey) {
  EXPECT_NE(expect_error(kMinimal, {"--learning_rat", "1"}).find("unknown key 'training.learning_rat'"),
            std::string::npos);
  EXPECT_NE(
      expect_error(kMinimal, {"--learning_rate", "fast"}).find("training.learning_rate: expected a number"),
      std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--per_device_train_batch_size", "2.5"})
                .find("per_device_train_batch_size: expected an integer"),
            std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--fp16", "maybe"}).find("training.fp16: expected true or false"),
            std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--optimizer.lr", "1"}).find("unknown section 'optimizer'"),
            std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--lr_scheduler_type", "exotic"}).find("lr_scheduler_type"),
            std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--seed"}).find("--seed needs a value"), std::string::npos);
  EXPECT_NE(expect_error("model: {name_or_path: x}\ntraining: {output_dir: o}\n").find("data.train_file"),
            std::string::npos);
  EXPECT_NE(expect_error(std::string(kMinimal) + "  bogus: 1\n").find("unknown key 'training.bogus'"),
            std::string::npos);
  EXPECT_NE(expect_error("model: [1, 2\n").find("invalid YAML"), std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--model.name_or_path", "folder"}).find("exactly one of"),
            std::string::npos);
  EXPECT_NE(
      expect_error(kMinimal, {"--load_best_model_at_end", "true"}).find("eval_strategy == save_strategy"),
      std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--ddp_timeout", "0"}).find("training.ddp_timeout must be > 0 seconds"),
            std::string::npos);
  EXPECT_NE(
      expect_error(kMinimal, {"--heartbeat_timeout", "-1"}).find("training.heartbeat_timeout must be > 0"),
      std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--max_consecutive_nonfinite_steps", "0"})
                .find("training.max_consecutive_nonfinite_steps must be > 0"),
            std::string::npos);
}

TEST(RunConfig, ReportToTakesANameOrAListAndLoggingDir) {
  const auto load = [](const std::string& yaml, const std::vector<std::string>& overrides) {
    ScratchDir dir;
    write_file(dir / "c.yaml", yaml);
    const RunConfig config = RunConfig::load(dir / "c.yaml", overrides);
    write_file(dir / "resolved.yaml", config.to_yaml());  // and it survives the round trip
    return RunConfig::load(dir / "resolved.yaml", {}).training;
  };
  EXPECT_EQ(load(kMinimal, {"--report_to", "tensorboard"}).report_to,
            std::vector<std::string>{"tensorboard"});
  EXPECT_EQ(load(kMinimal, {"--report_to", "[all]"}).report_to, std::vector<std::string>{"all"});
  const TrainingArguments listed =
      load(std::string(kMinimal) + "  report_to: [tensorboard]\n  logging_dir: tb/logs\n", {});
  EXPECT_EQ(listed.report_to, std::vector<std::string>{"tensorboard"});
  EXPECT_EQ(listed.logging_dir.value_or(""), "tb/logs");

  EXPECT_NE(expect_error(kMinimal, {"--report_to", "wandb"})
                .find("training.report_to: 'wandb' is not supported by dtrain (tensorboard, all or none)"),
            std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--report_to", "[tensorboard, none]"}).find("cannot be combined"),
            std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--report_to", "{a: 1}"}).find("training.report_to: expected a string"),
            std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--logging_dir", "''"}).find("logging_dir must not be empty"),
            std::string::npos);
}

TEST(RunConfig, BestModelAndEarlyStoppingFollowTrainerRules) {
  const auto load = [](const std::vector<std::string>& overrides) {
    ScratchDir dir;
    write_file(dir / "c.yaml", kMinimal);
    return RunConfig::load(dir / "c.yaml", overrides).training;
  };
  const TrainingArguments best = load({"--eval_strategy", "steps", "--load_best_model_at_end", "true"});
  EXPECT_EQ(best.effective_metric_for_best_model(), "eval_loss");
  EXPECT_FALSE(best.effective_greater_is_better());
  const TrainingArguments accuracy = load({"--metric_for_best_model", "accuracy"});
  EXPECT_EQ(accuracy.effective_metric_for_best_model(), "eval_accuracy");
  EXPECT_TRUE(accuracy.effective_greater_is_better());
  EXPECT_TRUE(accuracy.tracks_best_metric());
  EXPECT_FALSE(load({}).tracks_best_metric());

  EXPECT_NE(expect_error(kMinimal, {"--early_stopping_patience", "2"})
                .find("early_stopping_patience needs evaluations"),
            std::string::npos);
  EXPECT_NE(
      expect_error(kMinimal, {"--early_stopping_patience", "0"}).find("early_stopping_patience must be > 0"),
      std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--eval_strategy", "steps", "--early_stopping_threshold", "-1"})
                .find("early_stopping_threshold must be >= 0"),
            std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--eval_strategy", "steps", "--load_best_model_at_end", "true",
                                    "--eval_steps", "300"})
                .find("save_steps (500) to be a multiple of eval_steps (300)"),
            std::string::npos);
}

TEST(RunConfig, Seq2SeqTrainingArgumentsHaveTheirDefaultsAndRanges) {
  ScratchDir dir;
  write_file(dir / "c.yaml", kMinimal);
  const auto defaults = RunConfig::load(dir / "c.yaml", {}).training;
  EXPECT_FALSE(defaults.predict_with_generate);
  EXPECT_FALSE(defaults.generation_max_length.has_value());
  EXPECT_FALSE(defaults.generation_num_beams.has_value());
  EXPECT_DOUBLE_EQ(defaults.label_smoothing_factor, 0.0);
  const auto set =
      RunConfig::load(dir / "c.yaml", {"--predict_with_generate", "true", "--generation_max_length", "64",
                                       "--generation_num_beams", "4", "--label_smoothing_factor", "0.1"})
          .training;
  EXPECT_TRUE(set.predict_with_generate);
  EXPECT_EQ(set.generation_max_length, 64);
  EXPECT_EQ(set.generation_num_beams, 4);
  EXPECT_DOUBLE_EQ(set.label_smoothing_factor, 0.1);
  EXPECT_NE(expect_error(kMinimal, {"--label_smoothing_factor", "1"})
                .find("label_smoothing_factor must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(
      expect_error(kMinimal, {"--generation_max_length", "1"}).find("generation_max_length must be >= 2"),
      std::string::npos);
  EXPECT_NE(expect_error(kMinimal, {"--generation_num_beams", "0"}).find("generation_num_beams must be >= 1"),
            std::string::npos);
}

}  // namespace
}  // namespace dtrain::train
