#pragma once
// Which task trains which data on which model: a factory per (dataset task type, config.json
// model_type). A task or model family registers itself from its own .cpp with a static
// TaskRegistration, so adding one is new files only:
//
//   const tasks::TaskRegistration kRegistration(data::TaskType::classification, "bert",
//       [](const tasks::TaskSetup& setup) { return std::make_unique<MyTask>(setup); });
#include <functional>
#include <memory>
#include <string>

#include "data/dataset/dataset_format.h"
#include "tasks/task.h"

namespace dtrain::tasks {

using TaskFactory = std::function<std::unique_ptr<Task>(const TaskSetup& setup)>;

struct TaskRegistration {
  TaskRegistration(data::TaskType task_type, std::string model_type, TaskFactory factory);
};

// config.json's "model_type" of the source; when absent, `absent` ("bert", as in dtrain's configs
// that predate other families; make_task passes "marian" for translation datasets). Throws
// dtrain::Error when the folder or its config.json cannot be read.
std::string model_type_of(const ModelSource& source, const std::string& absent = "bert");

// The registered task for the setup's dataset task type and model type, built by its factory. Throws
// dtrain::Error naming both, and what is registered, when there is none.
std::unique_ptr<Task> make_task(const TaskSetup& setup);

}  // namespace dtrain::tasks
