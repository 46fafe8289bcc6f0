// `dtrain predict`: logits of a fine-tuned model over a prepared dataset, in dataset order. Under
// mpirun every rank predicts its partition and rank 0 writes the file.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "app/distributed_command.h"
#include "app/inference_setup.h"
#include "common/error.h"
#include "train/evaluation.h"

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
  InferenceSetup setup = prepare_inference(group, options.model, reader, options.health);

  const auto start = std::chrono::steady_clock::now();
  const data::PredictionsTable table =
      train::predict_distributed(*setup.model, reader, *setup.comm, options.batch_size);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (group.rank() != 0) return;
  data::write_predictions(options.output, table);

  const data::DatasetInfo& info = reader.info();
  std::string quality;
  if (info.task == data::TaskType::classification && info.num_labels == table.num_labels) {
    quality =
        fmt::format(", accuracy {:.4f}", train::prediction_metrics(table, "")["eval_accuracy"].get<double>());
  } else if (info.task == data::TaskType::classification) {
    spdlog::warn("{} has {} labels but the model predicts {}: accuracy not computed", options.data,
                 info.num_labels, table.num_labels);
  }
  fmt::print("predict: {} samples in {:.2f} s ({:.1f} samples/s){} -> {}\n", table.num_samples(), seconds,
             seconds > 0 ? table.num_samples() / seconds : 0.0, quality, options.output);
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
