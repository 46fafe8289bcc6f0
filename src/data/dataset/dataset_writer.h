#pragma once
// Streams tokenized samples into a prepared dataset file (layout in dataset_format.h). Data goes to
// "<path>.tmp-<pid>", which commit() closes and renames onto `path`: an interrupted or failed
// prepare never leaves a file that looks complete. A writer destroyed before commit() removes it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "data/dataset/dataset_format.h"
#include "data/tokenizers/bert_tokenizer.h"

namespace dtrain::data {

class DatasetWriter {
 public:
  // `vocab_size` bounds the token ids accepted by add().
  DatasetWriter(std::filesystem::path path, TaskType task, int vocab_size);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // Appends one sample; the label type must match the task. Throws on a token id outside the
  // vocabulary (output validation: such a file would crash an embedding lookup later).
  void add(const Encoding& encoding, int64_t class_label);
  void add(const Encoding& encoding, float regression_target);

  int64_t num_samples() const { return num_samples_; }
  int64_t total_tokens() const { return total_tokens_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

  // Writes `info`'s attributes (with num_samples/total_tokens set from what was added), closes the
  // file and renames it into place.
  void commit(DatasetInfo info);

 private:
  struct OpenFile;
  void add_tokens(const Encoding& encoding);
  void flush();

  std::filesystem::path path_, temp_path_;
  TaskType task_;
  int vocab_size_;
  std::unique_ptr<OpenFile> open_;
  int64_t num_samples_ = 0, total_tokens_ = 0, max_class_label_ = -1;
  std::vector<int32_t> pending_input_ids_;
  std::vector<int8_t> pending_token_type_ids_;
  std::vector<int64_t> pending_offsets_, pending_class_labels_;
  std::vector<float> pending_regression_labels_;
};

}  // namespace dtrain::data
