#pragma once
// Turns the text of a label column into what a dataset stores: a class id (an integer, or a name's
// position in --labels) or a regression target.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/dataset/dataset_format.h"

namespace dtrain::data {

class LabelParser {
 public:
  // `label_names` maps names to ids by position; empty means integer labels (or regression).
  LabelParser(TaskType task, std::vector<std::string> label_names);

  TaskType task() const { return task_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // `where` ("file:line") prefixes the error for a label that cannot be parsed.
  int64_t class_id(const std::string& text, const std::string& where) const;
  float regression_target(const std::string& text, const std::string& where) const;

  // num_labels of the dataset: the number of names, else the largest class id seen + 1, and 1 for
  // regression.
  int num_labels(int64_t largest_class_id) const;

 private:
  TaskType task_;
  std::vector<std::string> label_names_;
  std::unordered_map<std::string, int64_t> ids_by_name_;
};

}  // namespace dtrain::data
