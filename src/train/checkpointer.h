#pragma once
// Saving and resuming a run (the folder format is checkpoint.h's): which rank does what, and what
// comes back. Saving gathers every rank's RNG state to rank 0, which writes checkpoint-<step> and
// rotates old ones while the others wait without spinning. Resuming has rank 0 pick the checkpoint,
// every rank read it, refuses a checkpoint of other data (unless allowed) and restores the weights,
// the optimizer, the loss scale and this rank's RNG state.
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "data/loading/train_position.h"
#include "train/checkpoint.h"
#include "train/trainer_state.h"

namespace dtrain::dist {
class ProcessGroup;
}
namespace dtrain::tasks {
class Task;
}

namespace dtrain::train {

class Optimization;

// What the data order of a run depends on: resuming with another one cannot continue it.
struct DataOrder {
  std::string train_file;           // named in errors
  nlohmann::json dataset_identity;  // TrainerState::dataset_identity
  int64_t global_batch_size = 0;
  uint64_t seed = 0;          // data_seed
  data::TrainPosition start;  // where a new order starts (its first step)
  bool allow_change = false;  // allow_data_change_on_resume
};

// Where a resumed run continues.
struct ResumePoint {
  std::filesystem::path folder;
  TrainerState state;
  data::TrainPosition position;
};

class Checkpointer {
 public:
  Checkpointer(const dist::ProcessGroup& group, const c10::Device& device, std::filesystem::path output_dir,
               ModelFolderExtras extras, std::optional<int64_t> save_total_limit);

  // Collective: checkpoint-<state.global_step> with the task's model, the optimizer state, every
  // rank's RNG state, the data position and `state`; then, with save_total_limit, the oldest
  // checkpoints are deleted, never state.best_model_checkpoint.
  void save(const tasks::Task& task, const Optimization& optimization, const TrainerState& state,
            const data::TrainPosition& position) const;

  // Collective: the checkpoint `resume_from_checkpoint` names ("latest": the newest complete one in
  // output_dir) restored into `task` and `optimization` and this rank's generators; nullopt when
  // "latest" finds none yet (the job starts from scratch).
  std::optional<ResumePoint> resume(const std::string& resume_from_checkpoint, const DataOrder& order,
                                    tasks::Task& task, Optimization& optimization) const;

 private:
  bool is_main() const;

  const dist::ProcessGroup& group_;
  c10::Device device_;
  std::filesystem::path output_dir_;
  ModelFolderExtras extras_;
  std::optional<int64_t> save_total_limit_;
};

}  // namespace dtrain::train
