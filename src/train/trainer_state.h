#pragma once
// Trainer's state (transformers.TrainerState): how far the run has come, its log history, the best
// evaluation and its checkpoint, and the early-stopping counter, with the run's intervals. Saved as
// trainer_state.json in every checkpoint and the final model, and read back on resume. Torch-free.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace dtrain::train {

struct TrainerState {
  // Progress.
  int64_t global_step = 0;  // optimizer steps taken
  double epoch = 0;         // fractional: the part of the current epoch done counts
  nlohmann::json log_history = nlohmann::json::array();

  // The best evaluation of metric_for_best_model so far, the checkpoint of its step (empty: none),
  // and EarlyStoppingCallback's count of evaluations since the last improvement.
  std::optional<double> best_metric;
  std::optional<int64_t> best_global_step;
  std::string best_model_checkpoint;
  int64_t early_stopping_patience_counter = 0;

  // The run's settings, as Trainer records them: intervals resolved to steps, the per-device batch,
  // and EarlyStoppingCallback's arguments (patience 0: no early stopping).
  int64_t max_steps = 0;
  int64_t num_train_epochs = 0;
  int64_t logging_steps = 500;
  int64_t eval_steps = 500;
  int64_t save_steps = 500;
  int64_t train_batch_size = 0;
  int64_t early_stopping_patience = 0;
  double early_stopping_threshold = 0;

  // dtrain's addition: what identifies the training data (source file, its SHA-256, sample count),
  // so that a run is not resumed on other data unnoticed. Checkpoints keep it in data_position.json,
  // beside the position it belongs to; to_json leaves it out.
  nlohmann::json dataset_identity;

  // trainer_state.json: exactly the keys transformers' TrainerState.save_to_json writes (no flops, no
  // hyper-parameter search, this process as world process zero), so TrainerState.load_from_json
  // reads it; stateful_callbacks holds TrainerControl, and EarlyStoppingCallback when patience > 0.
  nlohmann::json to_json() const;
  // Reads what to_json or transformers wrote (and the "dtrain_dataset" key of earlier dtrain
  // versions); absent keys keep their defaults, `null`s of optional ones too. Throws dtrain::Error naming
  // `source` and the key when a value has the wrong type.
  static TrainerState from_json(const nlohmann::json& json, const std::string& source = "trainer_state.json");

  // to_json, indented as Trainer writes it, written atomically.
  void save(const std::filesystem::path& path) const;
  static TrainerState load(const std::filesystem::path& path);
};

}  // namespace dtrain::train
