// The translation task end to end with the built dtrain under mpirun, on a few hundred Multi30k pairs
// and small random Marian models: token-normalised losses equal at 1/2/3 ranks and with accumulation,
// BLEU identical at 1/2/3 ranks, eval_loss equal to transformers' MarianMTModel (with and without
// label smoothing), `dtrain translate` equal to transformers' generate() + batch_decode, and training
// step by step equal to Seq2SeqTrainer's.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "support/test_support.h"
#include "support/weights_comparison.h"

namespace dtrain::train {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using testing::run_command;
using testing::ScratchDir;
using testing::write_file;

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

std::string reference(const std::string& arguments) {
  return testing::python() + " " +
         quoted(testing::source_dir() / "tests/reference/marian_task_reference.py") + " " + arguments;
}

std::string head(const fs::path& file, size_t count) {
  std::ifstream in(file);
  std::string text;
  std::string line;
  for (size_t i = 0; i < count && std::getline(in, line); ++i) text += line + "\n";
  return text;
}

// A small Marian from scratch; the vocabulary fields come from the dataset, and model_type defaults to
// marian on translation data.
const char* kModelYaml = R"(
model:
  config:
    d_model: 32
    encoder_layers: 2
    decoder_layers: 2
    encoder_attention_heads: 4
    decoder_attention_heads: 4
    encoder_ffn_dim: 64
    decoder_ffn_dim: 64
    max_position_embeddings: 128
    activation_function: swish
    scale_embedding: true
    dropout: 0.0
)";

class Translation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto shared = testing::shared_data();
    if (!shared || !fs::is_directory(*shared / "multi30k")) return;
    scratch_ = new ScratchDir("dtrain-translation");
    const fs::path corpus = *shared / "multi30k";
    write_file(dir() / "train.en", head(corpus / "train.en", 300));
    write_file(dir() / "train.fr", head(corpus / "train.fr", 300));
    write_file(dir() / "val.en", head(corpus / "val.en", 50));
    write_file(dir() / "val.fr", head(corpus / "val.fr", 50));
    const std::vector<std::string> steps{
        fmt::format(
            "train-tokenizer --type marian --source {} --target {} --output {} --vocab-size 500 --threads 1",
            quoted(dir() / "train.en"), quoted(dir() / "train.fr"), quoted(dir() / "tokenizer")),
        fmt::format("prepare --task translation --tokenizer {} --source-file {} --target-file {} --output {}",
                    quoted(dir() / "tokenizer"), quoted(dir() / "train.en"), quoted(dir() / "train.fr"),
                    quoted(dir() / "train.h5")),
        fmt::format("prepare --task translation --tokenizer {} --source-file {} --target-file {} --output {}",
                    quoted(dir() / "tokenizer"), quoted(dir() / "val.en"), quoted(dir() / "val.fr"),
                    quoted(dir() / "val.h5")),
    };
    for (const std::string& step : steps) {
      const CommandResult result = run_command(quoted(testing::dtrain_binary()) + " " + step);
      if (result.exit_code != 0) failure_ += step + ": " + result.output;
    }
    const CommandResult model = run_command(
        reference(fmt::format("random-model {} {} 1", quoted(dir() / "tokenizer"), quoted(dir() / "hf"))));
    if (model.exit_code != 0) failure_ += "random-model: " + model.output;
    write_file(dir() / "config.yaml", std::string(kModelYaml) + fmt::format(R"(
data:
  tokenizer: {}
  train_file: {}
  eval_file: {}
training:
  learning_rate: 1.0e-3
  max_steps: 6
  logging_steps: 1
  disable_tqdm: true
  ddp_allreduce_dtype: fp32
)",
                                                                            (dir() / "tokenizer").string(),
                                                                            (dir() / "train.h5").string(),
                                                                            (dir() / "val.h5").string()));
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }
  void SetUp() override {
    DTRAIN_REQUIRE_SHARED_DATA(shared);
    DTRAIN_REQUIRE_PYTHON("transformers sentencepiece h5py");
    if (!scratch_) DTRAIN_MISSING_REFERENCE("../shared/data/multi30k not found");
    ASSERT_TRUE(failure_.empty()) << failure_;
  }
  static fs::path dir() { return scratch_->path(); }

  static std::vector<double> train_losses(int ranks, int per_device, int accumulation,
                                          const std::string& extra = "") {
    const fs::path out = dir() / fmt::format("run-{}-{}-{}", ranks, per_device, accumulation);
    const std::string command = fmt::format(
        "{} train --config {} --output_dir {} --per_device_train_batch_size {} --gradient_accumulation_steps "
        "{} {}",
        testing::mpirun_dtrain(ranks), quoted(dir() / "config.yaml"), quoted(out), per_device, accumulation,
        extra);
    const CommandResult result = run_command(command);
    EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
    std::vector<double> losses;
    std::ifstream log(out / "log.jsonl");
    for (std::string line; std::getline(log, line);) {
      const json entry = json::parse(line);
      if (entry.contains("loss")) losses.push_back(entry["loss"].get<double>());
    }
    EXPECT_EQ(losses.size(), 6u) << command;
    return losses;
  }

  // The last line of a command's output that is JSON (progress bars and log lines go before it).
  static json last_json_line(const std::string& output) {
    json value;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && (line.front() == '{' || line.front() == '['))
        value = json::parse(line, nullptr, false);
    }
    return value;
  }

  static json evaluate(int ranks, const std::string& options) {
    const std::string command =
        fmt::format("{} evaluate --model {} --data {} --batch-size 8 {}", testing::mpirun_dtrain(ranks),
                    quoted(dir() / "hf"), quoted(dir() / "val.h5"), options);
    const CommandResult result = run_command(command);
    EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
    return last_json_line(result.output);
  }

  static ScratchDir* scratch_;
  static std::string failure_;
};
ScratchDir* Translation::scratch_ = nullptr;
std::string Translation::failure_;

TEST_F(Translation, TokenNormalisedLossesEqualAtOneTwoThreeRanksAndWithAccumulation) {
  // Global batch 12 = 12 x 1 x 1 = 6 x 2 x 1 = 4 x 3 x 1 = 6 x 1 x 2 (per device x ranks x accumulation).
  const std::vector<double> one = train_losses(1, 12, 1);
  for (const auto& other : {train_losses(2, 6, 1), train_losses(3, 4, 1), train_losses(1, 6, 2)}) {
    ASSERT_EQ(other.size(), one.size());
    for (size_t step = 0; step < one.size(); ++step)
      EXPECT_NEAR(other[step], one[step], 1e-5 * one[step]) << step;
  }
}

TEST_F(Translation, BleuWithPredictWithGenerateIsIdenticalAtOneTwoThreeRanks) {
  const std::string options = "--predict-with-generate --generation-num-beams 2 --generation-max-length 24";
  const json one = evaluate(1, options);
  ASSERT_TRUE(one.contains("eval_bleu")) << one;
  EXPECT_TRUE(one.contains("eval_gen_len")) << one;
  for (int ranks : {2, 3}) {
    const json other = evaluate(ranks, options);
    EXPECT_EQ(other["eval_bleu"], one["eval_bleu"]) << ranks;
    EXPECT_EQ(other["eval_gen_len"], one["eval_gen_len"]) << ranks;
    EXPECT_EQ(other["eval_loss"], one["eval_loss"]) << ranks;
  }
  // The translations BLEU scores (a random model's BLEU is 0): `dtrain predict` writes them, the same
  // bytes at any rank count.
  std::string first;
  for (int ranks : {1, 2, 3}) {
    const fs::path output = dir() / fmt::format("predictions-{}.txt", ranks);
    const CommandResult result = run_command(fmt::format(
        "{} predict --model {} --data {} --batch-size 8 --output {}", testing::mpirun_dtrain(ranks),
        quoted(dir() / "hf"), quoted(dir() / "val.h5"), quoted(output)));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const std::string text = head(output, 1000);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 50) << ranks;
    if (ranks == 1) first = text;
    EXPECT_EQ(text, first) << ranks << " ranks";
  }
}

TEST_F(Translation, TrainingEvaluatesWithGenerateAndTracksTheBestBleu) {
  const fs::path out = dir() / "best-bleu";
  const std::string command = fmt::format(
      "{} train --config {} --output_dir {} --per_device_train_batch_size 4 --max_steps 4 --eval_strategy "
      "steps "
      "--eval_steps 2 --save_steps 2 --predict_with_generate true --generation_max_length 8 "
      "--generation_num_beams 1 --metric_for_best_model bleu --load_best_model_at_end true "
      "--label_smoothing_factor 0.1",
      testing::mpirun_dtrain(2), quoted(dir() / "config.yaml"), quoted(out));
  const CommandResult result = run_command(command);
  ASSERT_EQ(result.exit_code, 0) << command << "\n" << result.output;
  int evaluations = 0;
  std::ifstream log(out / "log.jsonl");
  for (std::string line; std::getline(log, line);) {
    const json entry = json::parse(line);
    if (!entry.contains("eval_loss")) continue;
    ++evaluations;
    EXPECT_TRUE(entry.contains("eval_bleu") && entry.contains("eval_gen_len")) << entry;
    EXPECT_LE(entry["eval_gen_len"].get<double>(), 7.0) << entry;  // max_length 8 counts the start token
  }
  EXPECT_EQ(evaluations, 2);
  std::ifstream state_file(out / "checkpoint-4" / "trainer_state.json");
  ASSERT_TRUE(state_file.is_open());
  const json state = json::parse(state_file);
  EXPECT_TRUE(state["best_metric"].is_number()) << state;
  // The final folder translates (its tokenizer came from data.tokenizer).
  const CommandResult translated =
      run_command(fmt::format("{} translate --model {} --input {} --output -",
                              quoted(testing::dtrain_binary()), quoted(out), quoted(dir() / "val.en")));
  ASSERT_EQ(translated.exit_code, 0) << translated.output;
}

TEST_F(Translation, EvalLossEqualsTransformersWithAndWithoutLabelSmoothing) {
  for (const double smoothing : {0.0, 0.1}) {
    const CommandResult expected = run_command(
        reference(fmt::format("loss {} {} 8 {}", quoted(dir() / "hf"), quoted(dir() / "val.h5"), smoothing)));
    ASSERT_EQ(expected.exit_code, 0) << expected.output;
    const json reference_loss = last_json_line(expected.output);
    const json metrics = evaluate(2, fmt::format("--label-smoothing-factor {}", smoothing));
    EXPECT_NEAR(metrics["eval_loss"].get<double>(), reference_loss["eval_loss"].get<double>(),
                1e-5 * reference_loss["eval_loss"].get<double>())
        << smoothing;
  }
}

TEST_F(Translation, TranslateEqualsTransformersGenerateAtOneAndTwoRanks) {
  for (const int ranks : {1, 2}) {
    const fs::path output = dir() / fmt::format("translations-{}.txt", ranks);
    const CommandResult result = run_command(fmt::format(
        "{} translate --model {} --input {} --output {} --num-beams 3 --max-length 20 --batch-size 7",
        testing::mpirun_dtrain(ranks), quoted(dir() / "hf"), quoted(dir() / "val.en"), quoted(output)));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const CommandResult expected = run_command(
        reference(fmt::format("translate {} {} 7 3 20", quoted(dir() / "hf"), quoted(dir() / "val.en"))));
    ASSERT_EQ(expected.exit_code, 0) << expected.output;
    const std::vector<std::string> reference_lines = last_json_line(expected.output);
    std::ifstream in(output);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    EXPECT_EQ(lines, reference_lines) << ranks << " ranks";
  }
}

TEST_F(Translation, FineTunesAFolderTransformersSavedAndTransformersLoadsTheResult) {
  // The pretrained path (opus-mt-en-fr's layout): train from the folder, then transformers loads the
  // saved folder and translates as dtrain does.
  const fs::path out = dir() / "fine-tuned";
  write_file(dir() / "fine-tune.yaml",
             fmt::format(R"(
model:
  name_or_path: {}
data:
  tokenizer: {}
  train_file: {}
training:
  learning_rate: 1.0e-3
  max_steps: 3
  per_device_train_batch_size: 4
  disable_tqdm: true
)",
                         (dir() / "hf").string(), (dir() / "hf").string(), (dir() / "train.h5").string()));
  const CommandResult trained =
      run_command(fmt::format("{} train --config {} --output_dir {}", testing::mpirun_dtrain(2),
                              quoted(dir() / "fine-tune.yaml"), quoted(out)));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const fs::path output = dir() / "fine-tuned.txt";
  const CommandResult translated = run_command(fmt::format(
      "{} translate --model {} --input {} --output {} --num-beams 2 --max-length 12 --batch-size 5",
      quoted(testing::dtrain_binary()), quoted(out), quoted(dir() / "val.en"), quoted(output)));
  ASSERT_EQ(translated.exit_code, 0) << translated.output;
  const CommandResult expected =
      run_command(reference(fmt::format("translate {} {} 5 2 12", quoted(out), quoted(dir() / "val.en"))));
  ASSERT_EQ(expected.exit_code, 0) << expected.output;
  const std::vector<std::string> reference_lines = last_json_line(expected.output);
  std::ifstream in(output);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_EQ(lines, reference_lines);
}

TEST_F(Translation, TranslateRefusesAFolderThatIsNotATranslationModel) {
  write_file(dir() / "bert" / "config.json", R"({"model_type": "bert"})");
  const CommandResult result = run_command(fmt::format("{} translate --model {} --input {} --output -",
                                                       quoted(testing::dtrain_binary()),
                                                       quoted(dir() / "bert"), quoted(dir() / "val.en")));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("not a translation model"), std::string::npos) << result.output;
}

TEST_F(Translation, FollowsSeq2SeqTrainerStepByStep) {
  // Seq2SeqTrainer (tests/reference/marian_task_reference.py seq2seq-trainer) and dtrain train the same
  // MarianMTModel, drawn and saved by transformers with dropout 0, on the same prepared pairs in dtrain's
  // sample order, with DataCollatorForSeq2Seq batches on Trainer's side. Both divide a step's token
  // losses by the step's target-token count (Trainer through a compute_loss_func that hands
  // num_items_in_batch to its LabelSmoother; see the script), so label smoothing 0.1 agrees exactly.
  // 300 pairs in global batches of 16 (8 x 2 accumulation): 19 steps per epoch, the last one short
  // (8 + 4 pairs), so the 50 steps cross two epoch ends. This model's gradient norms lie around
  // 0.5-0.7: max_grad_norm 0.6 clips about 30 of the 50 steps.
  constexpr double kMaxGradNorm = 0.6;
  const fs::path init = dir() / "trainer-parity-init";
  const CommandResult drawn = run_command(
      reference(fmt::format("random-model {} {} 3 trainable", quoted(dir() / "tokenizer"), quoted(init))));
  ASSERT_EQ(drawn.exit_code, 0) << drawn.output;
  const std::string arguments = fmt::format(
      " --learning_rate 5e-4 --lr_scheduler_type linear --warmup_steps 0.1 --weight_decay 0.01 "
      "--max_grad_norm {}"
      " --max_steps 50 --logging_steps 1 --seed 42 --disable_tqdm true --per_device_train_batch_size 8"
      " --gradient_accumulation_steps 2 --label_smoothing_factor 0.1",
      kMaxGradNorm);
  const fs::path trainer_out = dir() / "seq2seq-trainer";
  const CommandResult trainer =
      run_command("OMP_NUM_THREADS=1 " +
                  reference(fmt::format("seq2seq-trainer {} {} {}", quoted(init), quoted(dir() / "train.h5"),
                                        quoted(trainer_out))) +
                  arguments);
  ASSERT_EQ(trainer.exit_code, 0) << trainer.output;
  const fs::path ours_out = dir() / "seq2seq-dtrain";
  const std::string command = fmt::format(
      "{} train --model.name_or_path {} --data.train_file {} --output_dir {} --save_strategy no "
      "--ddp_allreduce_dtype fp32{}",
      testing::mpirun_dtrain(1), quoted(init), quoted(dir() / "train.h5"), quoted(ours_out), arguments);
  const CommandResult ours = run_command(command);
  ASSERT_EQ(ours.exit_code, 0) << command << "\n" << ours.output;

  std::ifstream history_file(trainer_out / "log_history.json");
  ASSERT_TRUE(history_file.is_open());
  std::vector<json> expected;
  for (const json& entry : json::parse(history_file)) {
    if (entry.contains("loss")) expected.push_back(entry);
  }
  std::vector<json> actual;
  std::ifstream log(ours_out / "log.jsonl");
  for (std::string line; std::getline(log, line);) {
    const json entry = json::parse(line);
    if (entry.contains("loss")) actual.push_back(entry);
  }
  ASSERT_EQ(expected.size(), 50u);
  ASSERT_EQ(actual.size(), expected.size());
  int clipped = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    for (const char* key : {"loss", "grad_norm", "learning_rate"}) {
      const double a = actual[i][key].get<double>(), b = expected[i][key].get<double>();
      EXPECT_LE(std::abs(a - b), 1e-4 * std::abs(b) + 1e-12)
          << "step " << i + 1 << ": " << key << " " << a << " vs Seq2SeqTrainer " << b;
    }
    EXPECT_NEAR(actual[i]["epoch"].get<double>(), expected[i]["epoch"].get<double>(), 1e-9)
        << "step " << i + 1;
    clipped += expected[i]["grad_norm"].get<double>() > kMaxGradNorm;
  }
  // The comparison covers the warmup, the decay, clipped and unclipped steps.
  EXPECT_EQ(expected.front()["learning_rate"].get<double>(), 0.0);
  EXPECT_GT(clipped, 0);
  EXPECT_LT(clipped, static_cast<int>(expected.size()));

  // The final weights agree within 1e-4, and training moved them by over 100 times that.
  testing::expect_same_trained_weights(trainer_out / "model.safetensors", ours_out / "model.safetensors",
                                       init / "model.safetensors", 1e-4, 1e-2);
}

}  // namespace
}  // namespace dtrain::train
