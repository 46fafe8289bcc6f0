#pragma once
// Streams tokenized samples into a prepared dataset file (layout in dataset_format.h). Data goes to
// "<path>.tmp-<pid>", which commit() closes, seals with its checksum header (file_checksum.h) and
// renames onto `path`: an interrupted or failed prepare never leaves a file that looks complete. A
// writer destroyed before commit() removes it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "data/dataset/dataset_format.h"
#include "data/tokenizers/bert_tokenizer.h"

namespace dtrain::data {

// The token streams a dataset will hold.
struct DatasetLayout {
  TaskType task = TaskType::classification;
  int vocab_size = 0;          // bounds the input_ids accepted by add()
  bool token_type_ids = true;  // store each sample's token types (never for translation)
  int target_vocab_size = 0;   // translation: bounds the target ids
};

class DatasetWriter {
 public:
  DatasetWriter(std::filesystem::path path, const DatasetLayout& layout);
  // A classification or regression dataset with token types.
  DatasetWriter(std::filesystem::path path, TaskType task, int vocab_size);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // Appends one sample; the label type must match the task. Throws on a token id outside the
  // vocabulary (output validation: such a file would crash an embedding lookup later). Without
  // layout.token_type_ids, the encoding's token types are ignored.
  void add(const Encoding& encoding, int64_t class_label);
  void add(const Encoding& encoding, float regression_target);
  // Translation: one sample's source ids (input_ids, special tokens included) and target ids
  // (labels, ending with EOS; decoder_start_token_id is not stored). Neither may be empty.
  void add_translation(const std::vector<int32_t>& source_ids, const std::vector<int32_t>& target_ids);

  int64_t num_samples() const { return num_samples_; }
  int64_t total_tokens() const { return total_tokens_; }
  int64_t total_target_tokens() const { return total_target_tokens_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

  // Writes `info`'s attributes (with the format version, has_token_type_ids, num_samples,
  // total_tokens and total_target_tokens set from the layout and what was added), closes the file, writes its
  // checksum header and renames it into place.
  void commit(DatasetInfo info);

 private:
  struct OpenFile;
  void add_source(const std::vector<int32_t>& ids, const std::vector<int8_t>* token_type_ids);
  void flush_if_full();
  void flush();

  std::filesystem::path path_, temp_path_;
  DatasetLayout layout_;
  std::unique_ptr<OpenFile> open_;
  int64_t num_samples_ = 0, total_tokens_ = 0, total_target_tokens_ = 0, max_class_label_ = -1;
  std::vector<int32_t> pending_input_ids_, pending_target_ids_;
  std::vector<int8_t> pending_token_type_ids_;
  std::vector<int64_t> pending_offsets_, pending_label_offsets_, pending_class_labels_;
  std::vector<float> pending_regression_labels_;
};

}  // namespace dtrain::data
