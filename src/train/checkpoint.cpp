#include "train/checkpoint.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/fault_injection.h"
#include "common/sha256.h"
#include "data/tokenizers/tokenizer.h"
#include "model/hf/safetensors.h"
#include "tasks/task.h"

namespace dtrain::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kPrefix = "checkpoint-";
constexpr const char* kMarker = "checkpoint_complete";

void fsync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DTRAIN_ASSERT(fd >= 0, "cannot open {} to sync it: {}", folder.string(), std::strerror(errno));
  const int result = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  DTRAIN_ASSERT(result == 0, "fsync of {} failed: {}", folder.string(), std::strerror(saved_errno));
}

// The step of a "checkpoint-<step>" folder name; nullopt for anything else (temporary folders too).
std::optional<int64_t> step_of(const fs::path& folder) {
  const std::string name = folder.filename().string();
  if (name.rfind(kPrefix, 0) != 0 || name.size() == std::strlen(kPrefix)) return std::nullopt;
  const std::string digits = name.substr(std::strlen(kPrefix));
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(digits);
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  DTRAIN_CHECK(in, "{}: cannot open", path.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    DTRAIN_FAIL("{}: invalid JSON: {}", path.string(), e.what());
  }
}

void write_optimizer(const fs::path& folder, const AdamWState& state) {
  std::vector<model::NamedTensor> tensors;
  json steps = json::object();
  for (const auto& [name, parameter] : state) {
    tensors.push_back({name + ".exp_avg", parameter.exp_avg});
    tensors.push_back({name + ".exp_avg_sq", parameter.exp_avg_sq});
    steps[name] = parameter.step;
  }
  // safetensors needs at least a header; an optimizer that has not stepped yet has no tensors.
  if (!tensors.empty()) model::write_safetensors(folder / "optimizer.safetensors", tensors);
  write_text_atomically(folder / "optimizer.json", json{{"step", steps}}.dump(2) + "\n");
}

AdamWState read_optimizer(const fs::path& folder) {
  const json steps = read_json(folder / "optimizer.json").at("step");
  AdamWState state;
  if (steps.empty()) return state;
  const model::SafetensorsFile moments(folder / "optimizer.safetensors");
  for (const auto& [name, step] : steps.items()) {
    const auto* exp_avg = moments.find(name + ".exp_avg");
    const auto* exp_avg_sq = moments.find(name + ".exp_avg_sq");
    DTRAIN_CHECK(exp_avg && exp_avg_sq, "{}: no moments for parameter '{}'", moments.path().string(), name);
    state[name] = {step.get<int64_t>(), model::to_tensor(*exp_avg, at::kFloat),
                   model::to_tensor(*exp_avg_sq, at::kFloat)};
  }
  return state;
}

void write_rng_states(const fs::path& folder, const std::vector<at::Tensor>& states) {
  std::vector<model::NamedTensor> tensors;
  for (size_t rank = 0; rank < states.size(); ++rank)
    tensors.push_back({"rank_" + std::to_string(rank), states[rank]});
  model::write_safetensors(folder / "rng_state.safetensors", tensors);
}

std::vector<at::Tensor> read_rng_states(const fs::path& folder) {
  const model::SafetensorsFile file(folder / "rng_state.safetensors");
  std::vector<at::Tensor> states;
  for (size_t rank = 0;; ++rank) {
    const auto* view = file.find("rank_" + std::to_string(rank));
    if (!view) break;
    states.push_back(model::to_tensor(*view, at::kByte));
  }
  DTRAIN_CHECK(!states.empty(), "{}: no rank_0 state", file.path().string());
  return states;
}

// The checkpoint-<step> folders of output_dir, complete or not, by ascending step.
std::vector<fs::path> checkpoint_folders(const fs::path& output_dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  if (!fs::is_directory(output_dir)) return {};
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    const auto step = step_of(entry.path());
    if (step && entry.is_directory()) found.emplace_back(*step, entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> folders;
  for (auto& [step, folder] : found) folders.push_back(std::move(folder));
  return folders;
}

// Removes a folder so that no crash midway leaves something that looks complete: marker first.
void remove_checkpoint(const fs::path& folder) {
  fs::remove(folder / kMarker);
  fs::remove_all(folder);
}

}  // namespace

fs::path checkpoint_folder(const fs::path& output_dir, int64_t step) {
  return output_dir / (kPrefix + std::to_string(step));
}

void copy_tokenizer_files(const fs::path& tokenizer_folder, const fs::path& destination) {
  const std::unique_ptr<data::Tokenizer> tokenizer = data::load_tokenizer(tokenizer_folder);
  for (const std::string& name : tokenizer->model_files())
    copy_file_atomically(tokenizer_folder / name, destination / name);
  for (const auto& [name, contents] : tokenizer->generated_model_files())
    write_text_atomically(destination / name, contents);
}

namespace {

// Everything but the completion marker, into `temporary`; returns each file's SHA-256.
json write_checkpoint_files(const fs::path& temporary, const tasks::Task& task,
                            const TrainerSnapshot& snapshot, const ModelFolderExtras& extras) {
  // Every file goes through AtomicFile (fsync'd); the model first, as a model folder.
  task.save_pretrained(temporary);
  faults::at(faults::Point::kCheckpointSave, snapshot.global_step);
  if (!extras.tokenizer_folder.empty()) copy_tokenizer_files(extras.tokenizer_folder, temporary);
  write_optimizer(temporary, snapshot.optimizer);
  write_text_atomically(temporary / "scheduler.json",
                        json{{"last_step", snapshot.global_step}}.dump(2) + "\n");
  if (snapshot.scaler) {
    write_text_atomically(
        temporary / "scaler.json",
        json{{"scale", snapshot.scaler->scale}, {"good_steps", snapshot.scaler->good_steps}}.dump(2) + "\n");
  }
  write_rng_states(temporary, snapshot.rng_states);
  json position = snapshot.position;
  if (!snapshot.dataset.is_null()) position["dataset"] = snapshot.dataset;
  write_text_atomically(temporary / "data_position.json", position.dump(2) + "\n");
  write_text_atomically(temporary / "trainer_state.json", snapshot.trainer_state.dump(2) + "\n");
  write_text_atomically(temporary / "training_config.yaml", extras.config_yaml);

  json checksums = json::object();
  for (const auto& entry : fs::directory_iterator(temporary)) {
    checksums[entry.path().filename().string()] = sha256_file_hex(entry.path());
  }
  return checksums;
}

}  // namespace

fs::path write_checkpoint(const fs::path& output_dir, const tasks::Task& task,
                          const TrainerSnapshot& snapshot, const ModelFolderExtras& extras) {
  const fs::path final_folder = checkpoint_folder(output_dir, snapshot.global_step);
  const fs::path temporary = final_folder.string() + ".tmp-" + std::to_string(::getpid());
  json checksums;
  try {
    fs::remove_all(temporary);
    fs::create_directories(temporary);
    checksums = write_checkpoint_files(temporary, task, snapshot, extras);
  } catch (const std::exception& e) {
    // A full disk is the usual cause: give the space back now (a killed save leaves the folder to
    // the next start, remove_unfinished_saves).
    std::error_code ignored;
    fs::remove_all(temporary, ignored);
    DTRAIN_FAIL("saving {} failed: {}. The earlier checkpoints are intact; the partial folder was removed",
                final_folder.string(), e.what());
  }

  // A folder of that name is a leftover (an incomplete save, or a run resumed from an earlier step).
  if (fs::exists(final_folder)) remove_checkpoint(final_folder);
  DTRAIN_CHECK(::rename(temporary.c_str(), final_folder.c_str()) == 0, "cannot rename {} to {}: {}",
               temporary.string(), final_folder.string(), std::strerror(errno));
  fsync_folder(output_dir);
  write_text_atomically(final_folder / kMarker,
                        json{{"global_step", snapshot.global_step}, {"sha256", checksums}}.dump(2) + "\n");
  return final_folder;
}

std::vector<fs::path> remove_unfinished_saves(const fs::path& output_dir) {
  std::vector<fs::path> removed;
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind(kPrefix, 0) == 0 && name.find(".tmp-") != std::string::npos) {
      removed.push_back(entry.path());
    }
  }
  for (const auto& folder : removed) fs::remove_all(folder);
  return removed;
}

std::string checkpoint_problem(const fs::path& folder) {
  if (!fs::is_directory(folder)) return "not a folder";
  if (!fs::is_regular_file(folder / kMarker))
    return std::string("no ") + kMarker + " marker (interrupted while saving?)";
  json marker;
  try {
    marker = read_json(folder / kMarker);
    if (!marker.contains("sha256") || !marker["sha256"].is_object() || marker["sha256"].empty()) {
      return std::string(kMarker) + " lists no files";
    }
    for (const auto& [name, checksum] : marker["sha256"].items()) {
      if (!fs::is_regular_file(folder / name)) return name + " is missing";
      if (sha256_file_hex(folder / name) != checksum.get<std::string>())
        return name + " does not match its checksum";
    }
  } catch (const std::exception& e) {
    return std::string(kMarker) + " is unreadable: " + e.what();
  }
  return {};
}

std::optional<fs::path> latest_complete_checkpoint(const fs::path& output_dir) {
  const std::vector<fs::path> folders = checkpoint_folders(output_dir);
  // Newest first: only as many checksums are computed as it takes to find a complete one.
  for (auto folder = folders.rbegin(); folder != folders.rend(); ++folder) {
    const std::string problem = checkpoint_problem(*folder);
    if (problem.empty()) return *folder;
    spdlog::warn("skipping incomplete checkpoint {}: {}", folder->string(), problem);
  }
  return std::nullopt;
}

std::optional<fs::path> newest_marked_checkpoint(const fs::path& output_dir) {
  const std::vector<fs::path> folders = checkpoint_folders(output_dir);
  for (auto folder = folders.rbegin(); folder != folders.rend(); ++folder) {
    if (fs::is_regular_file(*folder / kMarker)) return *folder;
  }
  return std::nullopt;
}

std::optional<fs::path> resolve_resume_checkpoint(const fs::path& output_dir,
                                                  const std::string& resume_from_checkpoint) {
  if (resume_from_checkpoint == "latest") return latest_complete_checkpoint(output_dir);
  const fs::path folder = resume_from_checkpoint;
  const std::string problem = checkpoint_problem(folder);
  DTRAIN_CHECK(problem.empty(), "resume_from_checkpoint: {} is not a complete checkpoint: {}",
               folder.string(), problem);
  return folder;
}

TrainerSnapshot read_checkpoint(const fs::path& folder, tasks::Task& task) {
  task.load_weights(folder);
  TrainerSnapshot snapshot;
  snapshot.trainer_state = read_json(folder / "trainer_state.json");
  try {
    snapshot.global_step = snapshot.trainer_state.at("global_step").get<int64_t>();
    const json position = read_json(folder / "data_position.json");
    snapshot.position = position.get<data::TrainPosition>();
    // Checkpoints of earlier versions kept the dataset's identity in trainer_state.json.
    snapshot.dataset = position.value("dataset", snapshot.trainer_state.value("dtrain_dataset", json()));
    if (fs::is_regular_file(folder / "scaler.json")) {
      const json scaler = read_json(folder / "scaler.json");
      snapshot.scaler =
          LossScalerState{scaler.at("scale").get<double>(), scaler.at("good_steps").get<int64_t>()};
    }
  } catch (const json::exception& e) {
    DTRAIN_FAIL("{}: unreadable training state: {}", folder.string(), e.what());
  }
  snapshot.optimizer = read_optimizer(folder);
  snapshot.rng_states = read_rng_states(folder);
  return snapshot;
}

std::vector<fs::path> rotate_checkpoints(const fs::path& output_dir, int64_t limit, const fs::path& keep) {
  // Checking the marker is enough here: rotation only decides which finished saves to drop.
  std::vector<fs::path> folders = checkpoint_folders(output_dir);
  folders.erase(std::remove_if(folders.begin(), folders.end(),
                               [](const fs::path& folder) { return !fs::is_regular_file(folder / kMarker); }),
                folders.end());
  std::vector<fs::path> deleted;
  int64_t excess = static_cast<int64_t>(folders.size()) - limit;
  // Oldest first; the newest (just written) and the best always stay, as in Trainer.
  for (size_t i = 0; i + 1 < folders.size() && excess > 0; ++i) {
    if (!keep.empty() && fs::weakly_canonical(folders[i]) == fs::weakly_canonical(keep)) continue;
    remove_checkpoint(folders[i]);
    deleted.push_back(folders[i]);
    --excess;
  }
  return deleted;
}

}  // namespace dtrain::train
