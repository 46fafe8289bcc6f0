#pragma once
// Training checkpoints: output_dir/checkpoint-<step>/ is a complete Hugging Face model folder
// (config.json, model.safetensors, tokenizer files) plus what resuming needs: optimizer.safetensors
// + optimizer.json (AdamW moments and per-parameter steps), scheduler.json, scaler.json (fp16 only),
// rng_state.safetensors (every rank's CPU generator), data_position.json (with the identity of the
// training data), trainer_state.json (exactly transformers' TrainerState) and training_config.yaml.
//
// A checkpoint is written into checkpoint-<step>.tmp-<pid>/, every file fsync'd, the folder renamed
// into place, and only then the marker `checkpoint_complete` (the SHA-256 of every file) written and
// fsync'd. A folder without a valid marker, or whose files do not match it, is not a checkpoint:
// a crash at any moment leaves the previous checkpoints intact and the newest one recognisably
// incomplete.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/loading/train_position.h"
#include "train/adamw.h"
#include "train/loss_scaler.h"

namespace dtrain::tasks {
class Task;
}

namespace dtrain::train {

// The training state beyond the model weights.
struct TrainerSnapshot {
  int64_t global_step = 0;
  AdamWState optimizer;
  std::optional<LossScalerState> scaler;
  std::vector<at::Tensor> rng_states;  // CPU generator state of each rank of the saving job
  data::TrainPosition position;
  nlohmann::json dataset;        // what identifies the training data (resuming on other data is refused)
  nlohmann::json trainer_state;  // trainer_state.json
};

// Files that make a model folder usable beyond the weights.
struct ModelFolderExtras {
  std::string config_yaml;                 // training_config.yaml (checkpoints only)
  std::filesystem::path tokenizer_folder;  // its tokenizer files are copied; empty: none
};

std::filesystem::path checkpoint_folder(const std::filesystem::path& output_dir, int64_t step);

// Copies the Hugging Face tokenizer files of `tokenizer_folder` (Tokenizer::model_files(): vocab.txt,
// tokenizer_config.json, ... for BERT; source.spm, target.spm, vocab.json, ... for Marian) into
// `destination`, atomically each. A BERT folder without tokenizer_config.json or
// special_tokens_map.json (a bare vocab.txt) gets them written from the tokenizer's settings, so that
// AutoTokenizer tokenizes as the data was prepared.
void copy_tokenizer_files(const std::filesystem::path& tokenizer_folder,
                          const std::filesystem::path& destination);

// Writes output_dir/checkpoint-<snapshot.global_step> as described above, the model through its task
// (replacing an incomplete or older folder of that name), and returns its path.
std::filesystem::path write_checkpoint(const std::filesystem::path& output_dir, const tasks::Task& task,
                                       const TrainerSnapshot& snapshot, const ModelFolderExtras& extras);

// Deletes the checkpoint-<step>.tmp-<pid> folders of saves that were interrupted; returns them.
std::vector<std::filesystem::path> remove_unfinished_saves(const std::filesystem::path& output_dir);

// Empty when `folder` is a complete checkpoint whose files match their recorded checksums; otherwise
// why it is not ("no checkpoint_complete marker (interrupted while saving?)", "model.safetensors
// does not match its checksum", ...).
std::string checkpoint_problem(const std::filesystem::path& folder);

// The complete checkpoint of output_dir with the highest step; newer incomplete or corrupt ones are
// skipped with a warning.
std::optional<std::filesystem::path> latest_complete_checkpoint(const std::filesystem::path& output_dir);

// The checkpoint of output_dir with the highest step that has a completion marker, without
// verifying its checksums (for a quick look at its settings; resuming verifies).
std::optional<std::filesystem::path> newest_marked_checkpoint(const std::filesystem::path& output_dir);

// resume_from_checkpoint: "latest" is the newest complete checkpoint in output_dir (nullopt when
// there is none: a first run of a job that is always submitted with "latest"); anything else is a
// checkpoint folder, which must be complete (dtrain::Error naming the problem otherwise).
std::optional<std::filesystem::path> resolve_resume_checkpoint(const std::filesystem::path& output_dir,
                                                               const std::string& resume_from_checkpoint);

// Loads the checkpoint's weights into the task's model and returns the rest of its state.
TrainerSnapshot read_checkpoint(const std::filesystem::path& folder, tasks::Task& task);

// Deletes the oldest complete checkpoints until at most `limit` remain, never deleting `keep` (the
// best checkpoint; may be empty), as Trainer's save_total_limit. Returns the deleted folders.
std::vector<std::filesystem::path> rotate_checkpoints(const std::filesystem::path& output_dir, int64_t limit,
                                                      const std::filesystem::path& keep);

}  // namespace dtrain::train
