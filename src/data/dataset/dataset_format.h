#pragma once
// The on-disk contract of a prepared (pre-tokenized) dataset: the names of its HDF5 objects, the
// format version, and the metadata stored as root attributes. Writer and reader share these names
// so the layout is defined in exactly one place (documented in README, "Dataset format").
#include <cstdint>
#include <string>
#include <vector>

namespace dtrain::data {

inline constexpr const char* kFormatName = "dtrain.tokenized";
// 1: classification/regression, variable-length string attributes, no checksums (still read).
// 2: named token streams, translation, fixed-length strings, checksums (file header + Fletcher-32).
inline constexpr int kFormatVersion = 2;

// Dataset names (all at the file root). A token stream is a token array plus the offsets index that
// cuts it into samples: sample i of a stream is tokens[offsets[i]:offsets[i+1]].
inline constexpr const char* kInputIds = "input_ids";           // int32 [total_tokens]
inline constexpr const char* kTokenTypeIds = "token_type_ids";  // int8  [total_tokens], optional
inline constexpr const char* kOffsets = "offsets";              // int64 [num_samples + 1]
// Classification: int64 [num_samples]; regression: float32 [num_samples]; translation: the target
// token stream, int32 [total_target_tokens], cut by kLabelOffsets.
inline constexpr const char* kLabels = "labels";
inline constexpr const char* kLabelOffsets = "label_offsets";  // int64 [num_samples + 1], translation

enum class TaskType { classification, regression, translation };

const char* task_name(TaskType task);
// Parses "classification" / "regression" / "translation"; throws dtrain::Error otherwise.
TaskType parse_task(const std::string& name);

// What a tokenizer id field holds when the tokenizer has no such token (format 2).
inline constexpr int32_t kNoTokenId = -1;

struct DatasetInfo {
  int format_version = kFormatVersion;
  TaskType task = TaskType::classification;
  int num_labels = 0;                    // classes (classification), 1 (regression), 0 (translation)
  std::vector<std::string> label_names;  // empty when labels were integers or not classes
  // The source vocabulary (input_ids) and its special ids; kNoTokenId where the tokenizer has none.
  int vocab_size = 0;
  int32_t pad_id = 0, cls_id = 0, sep_id = 0, eos_id = kNoTokenId;
  int max_length = 0;  // source tokens per sample, special tokens included
  std::string vocab_sha256, source_file, source_sha256, tokenizer_settings_json;
  std::string tokenizer_type = "bert";  // Tokenizer::type(); format 1 files were all "bert"
  bool has_token_type_ids = true;
  // Translation only (0, "" or kNoTokenId otherwise): the target vocabulary (labels; padded with
  // pad_id in decoder inputs) and the first decoder input.
  int target_vocab_size = 0;
  std::string target_vocab_sha256;
  int max_target_length = 0;
  int32_t decoder_start_token_id = kNoTokenId;
  int64_t num_samples = 0, total_tokens = 0, total_target_tokens = 0;

  // Names of the per-token datasets, e.g. {"input_ids", "token_type_ids"} or {"input_ids", "labels"}.
  std::vector<std::string> token_streams() const;
};

}  // namespace dtrain::data
