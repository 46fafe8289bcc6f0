// `dtrain predict`: logits of a fine-tuned model over a prepared dataset, in dataset order. Under
// mpirun every rank predicts its partition and rank 0 writes the file.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "app/distributed_command.h"
#include "app/inference_setup.h"
#include "common/error.h"
#include "tasks/task.h"

namespace dtrain::app {
namespace {

struct PredictOptions {
  std::string model;
  std::string data;
  std::string output;
  int64_t batch_size = 32;
  dist::HealthOptions health;
};

void run_predict(const PredictOptions& options, const dist::ProcessGroup& group) {
  // Fail before the work, not after it, when the output cannot be written.
  const auto output_folder = std::filesystem::absolute(options.output).parent_path();
  DTRAIN_CHECK(std::filesystem::is_directory(output_folder), "cannot write {}: folder {} does not exist",
               options.output, output_folder.string());
  const data::DatasetReader reader(options.data);
  InferenceSetup setup =
      prepare_inference(group, options.model, reader, tasks::DatasetRole::kPrediction, options.health);

  tasks::EvaluationOptions prediction;
  prediction.batch_size = options.batch_size;
  const auto start = std::chrono::steady_clock::now();
  const tasks::PredictionSummary summary =
      setup.task->predict(reader, *setup.comm, prediction, options.output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (group.rank() != 0) return;
  fmt::print("predict: {} samples in {:.2f} s ({:.1f} samples/s){} -> {}\n", summary.samples, seconds,
             seconds > 0 ? summary.samples / seconds : 0.0,
             summary.quality.empty() ? "" : ", " + summary.quality, options.output);
}

const RegisterCommand kPredict([](CLI::App& app) -> std::function<void()> {
  auto* sub = app.add_subcommand("predict", "Write a model's logits over a prepared dataset to an HDF5 file");
  auto options = std::make_shared<PredictOptions>();
  sub->add_option("--model", options->model, "Hugging Face model folder (config.json + model.safetensors)")
      ->required();
  sub->add_option("--data", options->data, "Dataset prepared by `dtrain prepare` (.h5)")->required();
  sub->add_option("--output", options->output, "Output HDF5 file: /logits [samples, labels] and /labels")
      ->required();
  sub->add_option("--batch-size", options->batch_size, "Samples per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_health_options(*sub, options->health);
  return
      [options] { run_distributed([&](const dist::ProcessGroup& group) { run_predict(*options, group); }); };
});

}  // namespace
}  // namespace dtrain::app
