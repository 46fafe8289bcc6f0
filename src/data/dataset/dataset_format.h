#pragma once
// The on-disk contract of a prepared (pre-tokenized) dataset: the names of its HDF5 objects, the
// format version, and the metadata stored as root attributes. Writer and reader share these names
// so the layout is defined in exactly one place (documented in README, "Dataset format").
#include <cstdint>
#include <string>
#include <vector>

namespace dtrain::data {

inline constexpr const char* kFormatName = "dtrain.tokenized";
inline constexpr int kFormatVersion = 1;

// Dataset names (all at the file root).
inline constexpr const char* kInputIds = "input_ids";           // int32 [total_tokens]
inline constexpr const char* kTokenTypeIds = "token_type_ids";  // int8  [total_tokens]
inline constexpr const char* kOffsets = "offsets";              // int64 [num_samples + 1]
inline constexpr const char* kLabels = "labels";                // int64 or float32 [num_samples]

enum class TaskType { classification, regression };

const char* task_name(TaskType task);
// Parses "classification" / "regression"; throws dtrain::Error otherwise.
TaskType parse_task(const std::string& name);

struct DatasetInfo {
  int format_version = kFormatVersion;
  TaskType task = TaskType::classification;
  int num_labels = 0;
  std::vector<std::string> label_names;  // empty when labels were integers or regression targets
  int vocab_size = 0;
  int32_t pad_id = 0, cls_id = 0, sep_id = 0;
  int max_length = 0;
  std::string vocab_sha256, source_file, source_sha256, tokenizer_settings_json;
  int64_t num_samples = 0, total_tokens = 0;
};

}  // namespace dtrain::data
