#include "data/tables/label_parser.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "common/error.h"

namespace dtrain::data {

LabelParser::LabelParser(TaskType task, std::vector<std::string> label_names)
    : task_(task), label_names_(std::move(label_names)) {
  DTRAIN_CHECK(task_ == TaskType::classification || label_names_.empty(),
               "--labels only applies to classification (regression targets are numbers)");
  for (size_t id = 0; id < label_names_.size(); ++id) {
    DTRAIN_CHECK(!label_names_[id].empty(), "--labels has an empty name at position {}", id);
    DTRAIN_CHECK(ids_by_name_.emplace(label_names_[id], static_cast<int64_t>(id)).second,
                 "--labels lists '{}' twice", label_names_[id]);
  }
}

int64_t LabelParser::class_id(const std::string& text, const std::string& where) const {
  if (!label_names_.empty()) {
    const auto found = ids_by_name_.find(text);
    DTRAIN_CHECK(found != ids_by_name_.end(), "{}: label '{}' is not in --labels ({})", where, text,
                 fmt::join(label_names_, ","));
    return found->second;
  }
  int64_t id = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  DTRAIN_CHECK(error == std::errc() && end == text.data() + text.size() && id >= 0,
               "{}: label '{}' is not a non-negative integer (use --labels to name the classes)", where,
               text);
  return id;
}

float LabelParser::regression_target(const std::string& text, const std::string& where) const {
  float target = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), target);
  DTRAIN_CHECK(error == std::errc() && end == text.data() + text.size() && std::isfinite(target),
               "{}: regression target '{}' is not a number", where, text);
  return target;
}

int LabelParser::num_labels(int64_t largest_class_id) const {
  if (task_ == TaskType::regression) return 1;
  if (!label_names_.empty()) return static_cast<int>(label_names_.size());
  return static_cast<int>(largest_class_id + 1);
}

}  // namespace dtrain::data
