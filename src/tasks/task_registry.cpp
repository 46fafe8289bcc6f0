#include "tasks/task_registry.h"

#include <map>
#include <utility>

#include "common/error.h"
#include "data/dataset/dataset_reader.h"
#include "model/hf/hf_checkpoint.h"

namespace dtrain::tasks {
namespace {

using Key = std::pair<std::string, std::string>;  // dataset task type, model_type

// Built on first use: registrations run during static initialisation, in no fixed order.
std::map<Key, TaskFactory>& factories() {
  static std::map<Key, TaskFactory> registered;
  return registered;
}

}  // namespace

TaskRegistration::TaskRegistration(data::TaskType task_type, std::string model_type, TaskFactory factory) {
  const bool added =
      factories().emplace(Key{data::task_name(task_type), std::move(model_type)}, std::move(factory)).second;
  DTRAIN_ASSERT(added, "two tasks registered for {} datasets with the same model_type",
                data::task_name(task_type));
}

std::string model_type_of(const ModelSource& source, const std::string& absent) {
  const nlohmann::json config =
      source.folder.empty() ? source.config : model::read_config_json(source.folder);
  const std::string where = source.folder.empty() ? "model.config" : (source.folder / "config.json").string();
  if (!config.is_object() || !config.contains("model_type")) return absent;
  DTRAIN_CHECK(config["model_type"].is_string(), "{}: field 'model_type' must be a string, got {}", where,
               config["model_type"].dump());
  return config["model_type"].get<std::string>();
}

std::unique_ptr<Task> make_task(const TaskSetup& setup) {
  const std::string task_type = data::task_name(setup.dataset.info().task);
  // The model family a dataset's task implies when the config names none.
  const std::string model_type = model_type_of(
      setup.model, setup.dataset.info().task == data::TaskType::translation ? "marian" : "bert");
  const auto found = factories().find({task_type, model_type});
  if (found == factories().end()) {
    std::string registered;
    for (const auto& [key, factory] : factories()) {
      registered += (registered.empty() ? "" : ", ") + key.first + " with " + key.second;
    }
    DTRAIN_FAIL("no task trains {} datasets with model_type '{}' (this dtrain has: {})", task_type,
                model_type, registered.empty() ? "none" : registered);
  }
  return found->second(setup);
}

}  // namespace dtrain::tasks
