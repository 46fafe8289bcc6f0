// `dtrain evaluate`: a model's eval_loss and metrics on a prepared dataset, printed as one JSON
// object. Under mpirun every rank evaluates its partition; the numbers do not depend on the rank count.
#include <fmt/format.h>

#include <memory>

#include "app/commands.h"
#include "app/distributed_command.h"
#include "app/inference_setup.h"
#include "common/error.h"
#include "train/evaluation.h"

namespace dtrain::app {
namespace {

struct EvaluateOptions {
  std::string model;
  std::string data;
  std::string task_name;
  int64_t batch_size = 32;
  dist::HealthOptions health;
};

void run_evaluate(const EvaluateOptions& options, const dist::ProcessGroup& group) {
  const data::DatasetReader reader(options.data);
  InferenceSetup setup = prepare_inference(group, options.model, reader, options.health);
  const data::DatasetInfo& info = reader.info();
  const int64_t model_labels = setup.model->config().num_labels;
  DTRAIN_CHECK(info.task == data::TaskType::regression ? model_labels == 1 : info.num_labels == model_labels,
               "{}: the dataset has {} labels ({}) but the model in {} predicts {}", options.data,
               info.num_labels, info.task == data::TaskType::regression ? "regression" : "classification",
               options.model, model_labels);
  const nlohmann::json metrics =
      train::evaluate(*setup.model, reader, *setup.comm, options.batch_size, options.task_name);
  if (group.rank() == 0) fmt::print("{}\n", metrics.dump());
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
  add_health_options(*sub, options->health);
  return
      [options] { run_distributed([&](const dist::ProcessGroup& group) { run_evaluate(*options, group); }); };
});

}  // namespace
}  // namespace dtrain::app
