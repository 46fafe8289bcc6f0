#include "data/dataset/dataset_format.h"

#include "common/error.h"

namespace dtrain::data {

const char* task_name(TaskType task) {
  return task == TaskType::classification ? "classification" : "regression";
}

TaskType parse_task(const std::string& name) {
  if (name == "classification") return TaskType::classification;
  if (name == "regression") return TaskType::regression;
  DTRAIN_FAIL("unknown task '{}' (expected classification or regression)", name);
}

}  // namespace dtrain::data
