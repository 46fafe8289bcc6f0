#pragma once
// The seam between the training stack and what is trained. A Task owns a model (a module whose
// parameter names are its Hugging Face names), computes a micro-batch's loss, evaluates the model
// on a dataset into metrics, predicts, and reads and writes it as a Hugging Face folder. The
// training loop, evaluation and checkpoints see only this interface: a new task or model family is
// new files that register a factory (task_registry.h), with no edit to the loop.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/training_flops.h"

namespace torch::nn {
class Module;
}
namespace dtrain::data {
struct Batch;
class DatasetReader;
}  // namespace dtrain::data
namespace dtrain::dist {
class Communicator;
}

namespace dtrain::tasks {

// Where a task's model comes from: a Hugging Face folder (config.json + model.safetensors), or
// config.json fields to build a new model from.
struct ModelSource {
  std::filesystem::path folder;  // empty: build from `config`
  nlohmann::json config;         // config.json fields (an object) when `folder` is empty
};

// Training adapts the model to the dataset (a classifier gets the dataset's labels, as
// `num_labels=`/`id2label=` do in from_pretrained); inference takes the folder's model as it is.
enum class Purpose { kTraining, kInference };

// What a task factory builds a task from.
struct TaskSetup {
  ModelSource model;
  const data::DatasetReader& dataset;  // the dataset trained on, or evaluated / predicted
  Purpose purpose = Purpose::kTraining;
  uint64_t seed = 0;  // initialisation of weights the folder does not provide
  c10::Device device = c10::kCPU;
  // Seq2SeqTrainingArguments' label_smoothing_factor (Trainer's LabelSmoother) for tasks whose loss
  // is a cross-entropy over tokens; 0: plain cross-entropy.
  double label_smoothing_factor = 0.0;
};

// What a dataset is used for: the checks differ (evaluation needs labels the model can predict).
enum class DatasetRole { kTraining, kEvaluation, kPrediction };

// A micro-batch's loss summed over its loss units, and how many units it holds. The unit is the
// task's: a sample for classification, a target token for translation. The trainer divides the sum
// by the step's global unit count (all ranks, all micro-batches), so the gradient is that of the
// mean over the whole global batch however the batch is split.
struct BatchLoss {
  at::Tensor sum;  // scalar, differentiable
  int64_t units = 0;
};

// Evaluation and prediction settings from the run (or the command line).
struct EvaluationOptions {
  int64_t batch_size = 8;  // per rank
  std::string task_name;   // GLUE task choosing classification metrics (metrics/glue_metrics.h)
  // Seq2SeqTrainingArguments: generate during evaluation (and score what is generated), with these
  // overrides of the model's generation config. Tasks without generation ignore them.
  bool predict_with_generate = false;
  std::optional<int64_t> generation_max_length;
  std::optional<int64_t> generation_num_beams;
  // The tokenizer that decodes generated ids (the trainer's data.tokenizer); empty: the model folder's.
  std::filesystem::path tokenizer_folder;
};

// What `dtrain predict` reports after writing its file.
struct PredictionSummary {
  int64_t samples = 0;
  std::string quality;  // e.g. "accuracy 0.8119"; empty when the dataset cannot score the model
};

class Task {
 public:
  virtual ~Task() = default;

  // Hugging Face's class name for the model, as config.json's "architectures" lists it.
  virtual std::string architecture() const = 0;
  // The model; its named_parameters(), under Hugging Face names, are the whole trained state.
  virtual torch::nn::Module& module() = 0;

  // Throws dtrain::Error naming the dataset when the model cannot be used on it in `role`
  // (vocabulary, sequence lengths, labels).
  virtual void check_dataset(const data::DatasetReader& dataset, DatasetRole role) const = 0;

  // The loss units of a micro-batch, from the host batch alone: the trainer counts the step's units
  // over all ranks before any forward pass.
  virtual int64_t loss_units(const data::Batch& batch) const = 0;
  // Forward pass on the model's device, in the module's current mode (train or eval).
  virtual BatchLoss loss(const data::Batch& batch) = 0;
  // The forward+backward matrix-product FLOPs of training on the batch, for model FLOP/s and MFU;
  // zero where a task does not count them (the log then reports no MFU).
  virtual model::TrainingFlops training_flops(const data::Batch& /*batch*/) const { return {}; }

  // Collective: the metrics of the whole dataset ("eval_loss", the task's own "eval_<metric>",
  // "eval_samples", "eval_runtime", "eval_samples_per_second") on rank 0; an empty object elsewhere.
  virtual nlohmann::json evaluate(const data::DatasetReader& dataset, dist::Communicator& comm,
                                  const EvaluationOptions& options) = 0;
  // Collective: rank 0 writes the task's predictions for the dataset, in dataset order, to `output`
  // (atomically) and returns the summary; other ranks return an empty one.
  virtual PredictionSummary predict(const data::DatasetReader& dataset, dist::Communicator& comm,
                                    const EvaluationOptions& options,
                                    const std::filesystem::path& output) = 0;

  // The model as a Hugging Face folder: config.json (with "architectures") and model.safetensors,
  // each written atomically, weights first.
  virtual void save_pretrained(const std::filesystem::path& folder) const = 0;
  // Copies a folder's weights into the model (checkpoints, the best model).
  virtual void load_weights(const std::filesystem::path& folder) = 0;
};

}  // namespace dtrain::tasks
