#include "train/reporting/tensorboard_reporter.h"

namespace dtrain::train::reporting {
namespace {

std::string trainer_tag(const std::string& key) {
  for (const std::string prefix : {"eval", "test"}) {
    if (key.rfind(prefix + "_", 0) == 0) return prefix + "/" + key.substr(prefix.size() + 1);
  }
  return "train/" + key;
}

void add_scalars(const std::string& tag, const nlohmann::json& value,
                 std::vector<std::pair<std::string, float>>& scalars) {
  if (value.is_number() || value.is_boolean()) {  // Python's bool is an int: Trainer logs it as 0/1
    scalars.emplace_back(tag, value.get<float>());
  } else if (value.is_object()) {
    for (const auto& [name, item] : value.items()) add_scalars(tag + "/" + name, item, scalars);
  }
}

}  // namespace

std::vector<std::pair<std::string, float>> tensorboard_scalars(const nlohmann::json& entry) {
  std::vector<std::pair<std::string, float>> scalars;
  for (const auto& [key, value] : entry.items()) {
    if (key != "step") add_scalars(trainer_tag(key), value, scalars);
  }
  return scalars;
}

TensorBoardReporter::TensorBoardReporter(const std::filesystem::path& logging_dir,
                                         std::optional<int64_t> resumed_at_step)
    : writer_(logging_dir) {
  if (resumed_at_step) writer_.add_session_start(*resumed_at_step + 1);
}

void TensorBoardReporter::report(const nlohmann::json& entry) {
  const auto scalars = tensorboard_scalars(entry);
  if (!scalars.empty()) writer_.add_scalars(entry.value("step", int64_t{0}), scalars);
}

}  // namespace dtrain::train::reporting
