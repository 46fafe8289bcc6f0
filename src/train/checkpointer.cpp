#include "train/checkpointer.h"

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "dist/process_group.h"
#include "dist/rank_activity.h"
#include "dist/rank_agreement.h"
#include "tasks/task.h"
#include "train/optimization.h"
#include "train/rng_state.h"

namespace dtrain::train {
namespace fs = std::filesystem;

Checkpointer::Checkpointer(const dist::ProcessGroup& group, const c10::Device& device, fs::path output_dir,
                           ModelFolderExtras extras, std::optional<int64_t> save_total_limit)
    : group_(group),
      device_(device),
      output_dir_(std::move(output_dir)),
      extras_(std::move(extras)),
      save_total_limit_(save_total_limit) {}

bool Checkpointer::is_main() const {
  return group_.rank() == 0;
}

void Checkpointer::save(const tasks::Task& task, const Optimization& optimization, const TrainerState& state,
                        const data::TrainPosition& position) const {
  TrainerSnapshot snapshot;
  snapshot.rng_states = gather_rng_states(group_, 0, device_);
  if (is_main()) {
    snapshot.global_step = state.global_step;
    snapshot.optimizer = optimization.optimizer_state();
    snapshot.scaler = optimization.scaler_state();
    snapshot.position = position;
    snapshot.dataset = state.dataset_identity;
    snapshot.trainer_state = state.to_json();
    const fs::path folder = write_checkpoint(output_dir_, task, snapshot, extras_);
    spdlog::info("saved checkpoint {}", folder.string());
    if (save_total_limit_) {
      for (const auto& deleted :
           rotate_checkpoints(output_dir_, *save_total_limit_, state.best_model_checkpoint)) {
        spdlog::info("deleted checkpoint {} (save_total_limit {})", deleted.string(), *save_total_limit_);
      }
    }
  }
  dist::wait_for_all_ranks(group_);
}

std::optional<ResumePoint> Checkpointer::resume(const std::string& resume_from_checkpoint,
                                                const DataOrder& order, tasks::Task& task,
                                                Optimization& optimization) const {
  std::string folder;
  if (is_main()) {
    const dist::PhaseScope verifying(dist::WorkPhase::kCheckpoint);  // checksums: the others wait
    folder = resolve_resume_checkpoint(output_dir_, resume_from_checkpoint).value_or(fs::path()).string();
    if (folder.empty())
      spdlog::info("no complete checkpoint in {} yet: starting from scratch", output_dir_.string());
  }
  folder = dist::broadcast_string(group_, folder, 0);
  if (folder.empty()) return std::nullopt;

  TrainerSnapshot snapshot = read_checkpoint(folder, task);
  ResumePoint resumed{folder, TrainerState::from_json(snapshot.trainer_state, folder + "/trainer_state.json"),
                      snapshot.position};
  const nlohmann::json& saved_dataset = snapshot.dataset;
  const bool same_data = saved_dataset == order.dataset_identity &&
                         snapshot.position.global_batch_size == order.global_batch_size &&
                         snapshot.position.seed == order.seed;
  if (!same_data) {
    DTRAIN_CHECK(
        order.allow_change,
        "resume_from_checkpoint: {} was trained on {} with global batch {} and data_seed {}; this run "
        "trains on {} {} with global batch {} and data_seed {} (set allow_data_change_on_resume: true to "
        "resume anyway)",
        folder, saved_dataset.dump(), snapshot.position.global_batch_size, snapshot.position.seed,
        order.train_file, order.dataset_identity.dump(), order.global_batch_size, order.seed);
    spdlog::warn("resuming {} on other data or another global batch: the data order restarts at epoch {}",
                 folder, snapshot.position.epoch);
    resumed.position = order.start;
    resumed.position.epoch = snapshot.position.epoch;
  }
  optimization.load_state(snapshot.optimizer, snapshot.scaler);
  const auto& rng = snapshot.rng_states;
  const bool same_generators =
      restore_rng_state(rng[static_cast<size_t>(group_.rank()) % rng.size()], device_);
  if (static_cast<int>(rng.size()) != group_.size() || !same_generators) {
    spdlog::warn(
        "{} was saved by {} ranks{} and this job has {}: dropout draws differ from an uninterrupted run",
        folder, rng.size(), same_generators ? "" : " on another kind of device", group_.size());
  }
  if (is_main()) spdlog::info("resumed from {} at step {}", folder, snapshot.global_step);
  return resumed;
}

}  // namespace dtrain::train
