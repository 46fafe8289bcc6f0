// `dtrain predict`: logits of a fine-tuned model over a prepared dataset, in dataset order.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "common/error.h"
#include "data/dataset_reader.h"
#include "model/dataset_fit.h"
#include "model/hf_checkpoint.h"
#include "model/predict.h"

namespace dtrain::app {
namespace {

struct PredictOptions {
  std::string model;
  std::string data;
  std::string output;
  int64_t batch_size = 32;
};

void run_predict(const PredictOptions& options) {
  // Fail before the work, not after it, when the output cannot be written.
  const auto output_folder = std::filesystem::absolute(options.output).parent_path();
  DTRAIN_CHECK(std::filesystem::is_directory(output_folder), "cannot write {}: folder {} does not exist",
               options.output, output_folder.string());
  const data::DatasetReader reader(options.data);
  model::BertForSequenceClassification model = model::load_bert_for_sequence_classification(options.model);
  model::check_dataset_fits_model(reader, model->config(), options.model);

  const auto start = std::chrono::steady_clock::now();
  // One process predicts every sample: the whole dataset is partition 0 of 1.
  model::PartitionPredictions predictions =
      model::predict_partition(*model, reader, /*rank=*/0, /*world_size=*/1, options.batch_size);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  data::write_predictions(options.output, predictions.table);

  const data::DatasetInfo& info = reader.info();
  std::string quality;
  if (info.task == data::TaskType::classification && info.num_labels == predictions.table.num_labels)
    quality = fmt::format(", accuracy {:.4f}", model::accuracy(predictions.table));
  else if (info.task == data::TaskType::classification)
    spdlog::warn("{} has {} labels but the model predicts {}: accuracy not computed", options.data,
                 info.num_labels, predictions.table.num_labels);
  fmt::print("predict: {} samples in {:.2f} s ({:.1f} samples/s){} -> {}\n", predictions.samples.size(),
             seconds, seconds > 0 ? predictions.samples.size() / seconds : 0.0, quality, options.output);
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
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  return [options] { run_predict(*options); };
});

}  // namespace
}  // namespace dtrain::app
