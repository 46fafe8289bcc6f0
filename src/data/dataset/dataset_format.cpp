#include "data/dataset/dataset_format.h"

#include "common/error.h"

namespace dtrain::data {

const char* task_name(TaskType task) {
  switch (task) {
    case TaskType::classification:
      return "classification";
    case TaskType::regression:
      return "regression";
    case TaskType::translation:
      return "translation";
  }
  return "unknown";
}

TaskType parse_task(const std::string& name) {
  if (name == "classification") return TaskType::classification;
  if (name == "regression") return TaskType::regression;
  if (name == "translation") return TaskType::translation;
  DTRAIN_FAIL("unknown task '{}' (expected classification, regression or translation)", name);
}

std::vector<std::string> DatasetInfo::token_streams() const {
  std::vector<std::string> streams{kInputIds};
  if (has_token_type_ids) streams.emplace_back(kTokenTypeIds);
  if (task == TaskType::translation) streams.emplace_back(kLabels);
  return streams;
}

}  // namespace dtrain::data
