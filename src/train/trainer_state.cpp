#include "train/trainer_state.h"

#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"

namespace dtrain::train {
namespace {

using nlohmann::json;

// json[key] as T when present and not null; `value` untouched otherwise.
template <class T>
void read(const json& object, const char* key, T& value, const std::string& source) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return;
  try {
    value = found->get<T>();
  } catch (const json::exception&) {
    DTRAIN_FAIL("{}: '{}' has the wrong type ({})", source, key, found->dump());
  }
}

template <class T>
void read(const json& object, const char* key, std::optional<T>& value, const std::string& source) {
  T present{};
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return;
  read(object, key, present, source);
  value = present;
}

// The object `object[key]`; nullptr when absent or not an object.
const json* member(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_object() ? &*found : nullptr;
}

}  // namespace

json TrainerState::to_json() const {
  const bool stopping_early =
      early_stopping_patience > 0 && early_stopping_patience_counter >= early_stopping_patience;
  // TrainerControl's flags as Trainer saves them with a checkpoint: written while should_save.
  json callbacks = {{"TrainerControl",
                     {{"args",
                       {{"should_epoch_stop", false},
                        {"should_evaluate", false},
                        {"should_log", false},
                        {"should_save", true},
                        {"should_training_stop", global_step >= max_steps || stopping_early}}},
                      {"attributes", json::object()}}}};
  if (early_stopping_patience > 0) {
    callbacks["EarlyStoppingCallback"] = {
        {"args",
         {{"early_stopping_patience", early_stopping_patience},
          {"early_stopping_threshold", early_stopping_threshold}}},
        {"attributes", {{"early_stopping_patience_counter", early_stopping_patience_counter}}}};
  }
  return {{"best_global_step", best_global_step ? json(*best_global_step) : json()},
          {"best_metric", best_metric ? json(*best_metric) : json()},
          {"best_model_checkpoint", best_model_checkpoint.empty() ? json() : json(best_model_checkpoint)},
          {"epoch", epoch},
          {"eval_steps", eval_steps},
          {"global_step", global_step},
          {"is_hyper_param_search", false},
          {"is_local_process_zero", true},
          {"is_world_process_zero", true},
          {"log_history", log_history},
          {"logging_steps", logging_steps},
          {"max_steps", max_steps},
          {"num_input_tokens_seen", 0},
          {"num_train_epochs", num_train_epochs},
          {"save_steps", save_steps},
          {"stateful_callbacks", callbacks},
          {"total_flos", 0},
          {"train_batch_size", train_batch_size},
          {"trial_name", nullptr},
          {"trial_params", nullptr}};
}

TrainerState TrainerState::from_json(const json& object, const std::string& source) {
  DTRAIN_CHECK(object.is_object(), "{}: expected a JSON object, got {}", source, object.type_name());
  TrainerState state;
  read(object, "global_step", state.global_step, source);
  read(object, "epoch", state.epoch, source);
  read(object, "log_history", state.log_history, source);
  read(object, "best_metric", state.best_metric, source);
  read(object, "best_global_step", state.best_global_step, source);
  read(object, "best_model_checkpoint", state.best_model_checkpoint, source);
  read(object, "max_steps", state.max_steps, source);
  read(object, "num_train_epochs", state.num_train_epochs, source);
  read(object, "logging_steps", state.logging_steps, source);
  read(object, "eval_steps", state.eval_steps, source);
  read(object, "save_steps", state.save_steps, source);
  read(object, "train_batch_size", state.train_batch_size, source);
  read(object, "dtrain_dataset", state.dataset_identity, source);
  // stateful_callbacks.EarlyStoppingCallback.{args,attributes}, when the run had one.
  const json* early_stopping = member(object, "stateful_callbacks");
  if (early_stopping) early_stopping = member(*early_stopping, "EarlyStoppingCallback");
  if (early_stopping) {
    const std::string where = source + ": stateful_callbacks.EarlyStoppingCallback";
    if (const json* args = member(*early_stopping, "args")) {
      read(*args, "early_stopping_patience", state.early_stopping_patience, where);
      read(*args, "early_stopping_threshold", state.early_stopping_threshold, where);
    }
    if (const json* attributes = member(*early_stopping, "attributes")) {
      read(*attributes, "early_stopping_patience_counter", state.early_stopping_patience_counter, where);
    }
  }
  return state;
}

void TrainerState::save(const std::filesystem::path& path) const {
  write_text_atomically(path, to_json().dump(2) + "\n");
}

TrainerState TrainerState::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  DTRAIN_CHECK(in, "{}: cannot open", path.string());
  json object;
  try {
    object = json::parse(in);
  } catch (const json::exception& e) {
    DTRAIN_FAIL("{}: invalid JSON: {}", path.string(), e.what());
  }
  return from_json(object, path.string());
}

}  // namespace dtrain::train
