#include "data/dataset/dataset_writer.h"

#include <unistd.h>

#include <system_error>

#include "common/error.h"
#include "data/dataset/dataset_attributes.h"
#include "data/dataset/hdf5.h"

namespace dtrain::data {
namespace {

// Token chunks of 32k elements decompress in well under a millisecond, so a random read that
// misses the reader's chunk cache stays cheap, while still compressing well.
constexpr int64_t kTokenChunk = 32768;
constexpr int64_t kIndexChunk = 16384;
constexpr int kDeflateLevel = 4;
// Pending samples are written out once this many tokens are buffered.
constexpr size_t kFlushTokens = 1 << 20;

}  // namespace

// Datasets are declared after the file so they are closed before it.
struct DatasetWriter::OpenFile {
  explicit OpenFile(const std::filesystem::path& path, TaskType task)
      : file(hdf5::File::create(path)),
        input_ids(file.create_dataset(kInputIds, H5T_STD_I32LE, kTokenChunk, kDeflateLevel)),
        token_type_ids(file.create_dataset(kTokenTypeIds, H5T_STD_I8LE, kTokenChunk, kDeflateLevel)),
        offsets(file.create_dataset(kOffsets, H5T_STD_I64LE, kIndexChunk, kDeflateLevel)),
        labels(file.create_dataset(kLabels, task == TaskType::classification ? H5T_STD_I64LE : H5T_IEEE_F32LE,
                                   kIndexChunk, kDeflateLevel)) {}
  hdf5::File file;
  hdf5::Dataset input_ids, token_type_ids, offsets, labels;
};

DatasetWriter::DatasetWriter(std::filesystem::path path, TaskType task, int vocab_size)
    : path_(std::move(path)),
      temp_path_(path_.string() + ".tmp-" + std::to_string(::getpid())),
      task_(task),
      vocab_size_(vocab_size),
      open_(std::make_unique<OpenFile>(temp_path_, task)) {
  pending_offsets_.push_back(0);
}

DatasetWriter::~DatasetWriter() {
  if (!open_) return;
  open_.reset();
  std::error_code ignored;
  std::filesystem::remove(temp_path_, ignored);
}

void DatasetWriter::add_tokens(const Encoding& encoding) {
  DTRAIN_ASSERT(open_, "{}: add() after commit()", path_.string());
  DTRAIN_ASSERT(!encoding.input_ids.empty() && encoding.input_ids.size() == encoding.token_type_ids.size(),
                "sample {}: {} token ids but {} token type ids", num_samples_, encoding.input_ids.size(),
                encoding.token_type_ids.size());
  for (const int32_t id : encoding.input_ids) {
    DTRAIN_CHECK(id >= 0 && id < vocab_size_,
                 "{}: sample {} has token id {} outside the vocabulary (size {})", path_.string(),
                 num_samples_, id, vocab_size_);
  }
  pending_input_ids_.insert(pending_input_ids_.end(), encoding.input_ids.begin(), encoding.input_ids.end());
  pending_token_type_ids_.insert(pending_token_type_ids_.end(), encoding.token_type_ids.begin(),
                                 encoding.token_type_ids.end());
  total_tokens_ += static_cast<int64_t>(encoding.input_ids.size());
  pending_offsets_.push_back(total_tokens_);
  ++num_samples_;
}

void DatasetWriter::add(const Encoding& encoding, int64_t class_label) {
  DTRAIN_ASSERT(task_ == TaskType::classification && class_label >= 0, "class label {} for a {} dataset",
                class_label, task_name(task_));
  add_tokens(encoding);
  pending_class_labels_.push_back(class_label);
  max_class_label_ = std::max(max_class_label_, class_label);
  if (pending_input_ids_.size() >= kFlushTokens) flush();
}

void DatasetWriter::add(const Encoding& encoding, float regression_target) {
  DTRAIN_ASSERT(task_ == TaskType::regression, "regression target for a {} dataset", task_name(task_));
  add_tokens(encoding);
  pending_regression_labels_.push_back(regression_target);
  if (pending_input_ids_.size() >= kFlushTokens) flush();
}

void DatasetWriter::flush() {
  open_->input_ids.append(pending_input_ids_);
  open_->token_type_ids.append(pending_token_type_ids_);
  open_->offsets.append(pending_offsets_);
  if (task_ == TaskType::classification) {
    open_->labels.append(pending_class_labels_);
  } else {
    open_->labels.append(pending_regression_labels_);
  }
  pending_input_ids_.clear();
  pending_token_type_ids_.clear();
  pending_offsets_.clear();
  pending_class_labels_.clear();
  pending_regression_labels_.clear();
}

void DatasetWriter::commit(DatasetInfo info) {
  DTRAIN_ASSERT(open_, "{}: commit() called twice", path_.string());
  DTRAIN_ASSERT(info.task == task_ && info.vocab_size == vocab_size_, "{}: info does not match the writer",
                path_.string());
  DTRAIN_ASSERT(max_class_label_ < info.num_labels, "{}: label {} but only {} labels", path_.string(),
                max_class_label_, info.num_labels);
  flush();
  info.format_version = kFormatVersion;
  info.num_samples = num_samples_;
  info.total_tokens = total_tokens_;
  write_info_attributes(open_->file, info);
  hdf5::File file = std::move(open_->file);
  open_.reset();  // closes the datasets; from here on this function removes the temp file itself
  std::error_code error;
  try {
    file.close();
  } catch (const Error&) {
    std::filesystem::remove(temp_path_, error);
    throw;
  }
  std::filesystem::rename(temp_path_, path_, error);
  if (error) {
    const std::string reason = error.message();
    std::filesystem::remove(temp_path_, error);
    DTRAIN_FAIL("{}: cannot move the finished file into place: {}", path_.string(), reason);
  }
}

}  // namespace dtrain::data
