// `dtrain evaluate`: a model's eval_loss and metrics on a prepared dataset, printed as one JSON
// object (and saved as eval_results.json with --output-dir). Under mpirun every rank evaluates its
// partition; the numbers do not depend on the rank count.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "app/commands.h"
#include "app/distributed_command.h"
#include "app/inference_setup.h"
#include "tasks/task.h"
#include "train/reporting/results_files.h"

namespace dtrain::app {
namespace {

struct EvaluateOptions {
  std::string model;
  std::string data;
  std::string task_name;
  int64_t batch_size = 32;
  std::string output_dir;
  bool predict_with_generate = false;
  std::optional<int64_t> generation_max_length;
  std::optional<int64_t> generation_num_beams;
  double label_smoothing_factor = 0.0;
  dist::HealthOptions health;
};

// The epoch the model was trained to, as Trainer.evaluate adds it to its metrics: from the
// trainer_state.json dtrain saves with a final model or checkpoint, when there is one.
std::optional<double> trained_epoch(const std::filesystem::path& model) {
  std::ifstream file(model / "trainer_state.json");
  if (!file) return std::nullopt;
  const nlohmann::json state = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (!state.is_object() || !state.contains("epoch") || !state["epoch"].is_number()) return std::nullopt;
  return state["epoch"].get<double>();
}

void run_evaluate(const EvaluateOptions& options, const dist::ProcessGroup& group) {
  const data::DatasetReader reader(options.data);
  InferenceSetup setup = prepare_inference(group, options.model, reader, tasks::DatasetRole::kEvaluation,
                                           options.health, options.label_smoothing_factor);
  tasks::EvaluationOptions evaluation;
  evaluation.batch_size = options.batch_size;
  evaluation.task_name = options.task_name;
  evaluation.predict_with_generate = options.predict_with_generate;
  evaluation.generation_max_length = options.generation_max_length;
  evaluation.generation_num_beams = options.generation_num_beams;
  const nlohmann::json metrics = setup.task->evaluate(reader, *setup.comm, evaluation);
  if (group.rank() != 0) return;
  fmt::print("{}\n", metrics.dump());
  if (!options.output_dir.empty()) {
    // What run_glue.py's final evaluation saves: the metrics, the epoch, merged into all_results.json.
    nlohmann::json results = metrics;
    if (const auto epoch = trained_epoch(options.model)) results["epoch"] = *epoch;
    std::filesystem::create_directories(options.output_dir);
    train::reporting::save_metrics(options.output_dir, "eval", results);
  }
}

const RegisterCommand kEvaluate([](CLI::App& app) -> std::function<void()> {
  auto* sub =
      app.add_subcommand("evaluate", "Print a model's eval_loss and metrics on a prepared dataset as JSON");
  auto options = std::make_shared<EvaluateOptions>();
  sub->add_option("--model", options->model, "Hugging Face model folder (config.json + model.safetensors)")
      ->required();
  sub->add_option("--data", options->data, "Dataset prepared by `dtrain prepare` (.h5)")->required();
  sub->add_option("--task-name", options->task_name,
                  "GLUE task choosing the metrics: mrpc/qqp (accuracy, f1), cola (matthews_correlation), "
                  "stsb (pearson, spearmanr); default accuracy, or pearson/spearmanr for regression");
  sub->add_option("--batch-size", options->batch_size, "Samples per forward pass (per rank)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--output-dir", options->output_dir,
                  "Also save the metrics as DIR/eval_results.json and merge them into DIR/all_results.json "
                  "(the run's output_dir, as run_glue.py does after training)");
  sub->add_flag("--predict-with-generate", options->predict_with_generate,
                "Translation: also generate translations and report eval_bleu and eval_gen_len (sacreBLEU)");
  sub->add_option("--generation-max-length", options->generation_max_length,
                  "Translation: longest generated sequence in tokens, decoder start included (default: the "
                  "model's generation config)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  sub->add_option("--generation-num-beams", options->generation_num_beams,
                  "Translation: beams of generation (default: the model's generation config)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--label-smoothing-factor", options->label_smoothing_factor,
                  "Translation: eval_loss with label smoothing, as Trainer's LabelSmoother")
      ->check(CLI::Range(0.0, 0.999999))
      ->capture_default_str();
  add_health_options(*sub, options->health);
  return
      [options] { run_distributed([&](const dist::ProcessGroup& group) { run_evaluate(*options, group); }); };
});

}  // namespace
}  // namespace dtrain::app
