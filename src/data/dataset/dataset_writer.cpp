#include "data/dataset/dataset_writer.h"

#include <unistd.h>

#include <optional>
#include <system_error>

#include "common/error.h"
#include "data/dataset/dataset_attributes.h"
#include "data/dataset/file_checksum.h"
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

hid_t label_file_type(TaskType task) {
  switch (task) {
    case TaskType::classification:
      return H5T_STD_I64LE;
    case TaskType::regression:
      return H5T_IEEE_F32LE;
    case TaskType::translation:
      return H5T_STD_I32LE;
  }
  return H5T_STD_I64LE;
}

}  // namespace

// Datasets are declared after the file so they are closed before it.
struct DatasetWriter::OpenFile {
  OpenFile(const std::filesystem::path& path, const DatasetLayout& layout)
      : file(hdf5::File::create(path, kChecksumHeaderBytes)),
        input_ids(file.create_dataset(kInputIds, H5T_STD_I32LE, kTokenChunk, kDeflateLevel)),
        offsets(file.create_dataset(kOffsets, H5T_STD_I64LE, kIndexChunk, kDeflateLevel)),
        labels(file.create_dataset(kLabels, label_file_type(layout.task),
                                   layout.task == TaskType::translation ? kTokenChunk : kIndexChunk,
                                   kDeflateLevel)) {
    if (layout.task == TaskType::translation) {
      label_offsets.emplace(file.create_dataset(kLabelOffsets, H5T_STD_I64LE, kIndexChunk, kDeflateLevel));
    } else if (layout.token_type_ids) {
      token_type_ids.emplace(file.create_dataset(kTokenTypeIds, H5T_STD_I8LE, kTokenChunk, kDeflateLevel));
    }
  }
  hdf5::File file;
  hdf5::Dataset input_ids, offsets, labels;
  std::optional<hdf5::Dataset> token_type_ids, label_offsets;
};

DatasetWriter::DatasetWriter(std::filesystem::path path, const DatasetLayout& layout)
    : path_(std::move(path)),
      temp_path_(path_.string() + ".tmp-" + std::to_string(::getpid())),
      layout_(layout),
      open_(std::make_unique<OpenFile>(temp_path_, layout)) {
  if (layout_.task == TaskType::translation) layout_.token_type_ids = false;
  DTRAIN_ASSERT(layout.task != TaskType::translation || layout.target_vocab_size > 0,
                "{}: a translation dataset needs a target vocabulary", path_.string());
  pending_offsets_.push_back(0);
  if (layout.task == TaskType::translation) pending_label_offsets_.push_back(0);
}

DatasetWriter::DatasetWriter(std::filesystem::path path, TaskType task, int vocab_size)
    : DatasetWriter(std::move(path), DatasetLayout{task, vocab_size, true, 0}) {}

DatasetWriter::~DatasetWriter() {
  if (!open_) return;
  open_.reset();
  std::error_code ignored;
  std::filesystem::remove(temp_path_, ignored);
}

void DatasetWriter::add_source(const std::vector<int32_t>& ids, const std::vector<int8_t>* token_type_ids) {
  DTRAIN_ASSERT(open_, "{}: add() after commit()", path_.string());
  DTRAIN_ASSERT(!ids.empty(), "{}: sample {} has no tokens", path_.string(), num_samples_);
  for (const int32_t id : ids) {
    DTRAIN_CHECK(id >= 0 && id < layout_.vocab_size,
                 "{}: sample {} has token id {} outside the vocabulary (size {})", path_.string(),
                 num_samples_, id, layout_.vocab_size);
  }
  if (layout_.token_type_ids) {
    DTRAIN_ASSERT(token_type_ids && token_type_ids->size() == ids.size(),
                  "sample {}: {} token ids but {} token type ids", num_samples_, ids.size(),
                  token_type_ids ? token_type_ids->size() : 0);
    for (const int8_t type : *token_type_ids) {
      DTRAIN_ASSERT(type == 0 || type == 1, "sample {}: token type {}", num_samples_, type);
    }
    pending_token_type_ids_.insert(pending_token_type_ids_.end(), token_type_ids->begin(),
                                   token_type_ids->end());
  }
  pending_input_ids_.insert(pending_input_ids_.end(), ids.begin(), ids.end());
  total_tokens_ += static_cast<int64_t>(ids.size());
  pending_offsets_.push_back(total_tokens_);
}

void DatasetWriter::add(const Encoding& encoding, int64_t class_label) {
  DTRAIN_ASSERT(layout_.task == TaskType::classification && class_label >= 0,
                "class label {} for a {} dataset", class_label, task_name(layout_.task));
  add_source(encoding.input_ids, &encoding.token_type_ids);
  pending_class_labels_.push_back(class_label);
  max_class_label_ = std::max(max_class_label_, class_label);
  ++num_samples_;
  flush_if_full();
}

void DatasetWriter::add(const Encoding& encoding, float regression_target) {
  DTRAIN_ASSERT(layout_.task == TaskType::regression, "regression target for a {} dataset",
                task_name(layout_.task));
  add_source(encoding.input_ids, &encoding.token_type_ids);
  pending_regression_labels_.push_back(regression_target);
  ++num_samples_;
  flush_if_full();
}

void DatasetWriter::add_translation(const std::vector<int32_t>& source_ids,
                                    const std::vector<int32_t>& target_ids) {
  DTRAIN_ASSERT(layout_.task == TaskType::translation, "a translation pair for a {} dataset",
                task_name(layout_.task));
  DTRAIN_ASSERT(!target_ids.empty(), "{}: sample {} has no target tokens", path_.string(), num_samples_);
  for (const int32_t id : target_ids) {
    DTRAIN_CHECK(id >= 0 && id < layout_.target_vocab_size,
                 "{}: sample {} has target id {} outside the target vocabulary (size {})", path_.string(),
                 num_samples_, id, layout_.target_vocab_size);
  }
  add_source(source_ids, nullptr);
  pending_target_ids_.insert(pending_target_ids_.end(), target_ids.begin(), target_ids.end());
  total_target_tokens_ += static_cast<int64_t>(target_ids.size());
  pending_label_offsets_.push_back(total_target_tokens_);
  ++num_samples_;
  flush_if_full();
}

void DatasetWriter::flush_if_full() {
  if (pending_input_ids_.size() + pending_target_ids_.size() >= kFlushTokens) flush();
}

void DatasetWriter::flush() {
  open_->input_ids.append(pending_input_ids_);
  if (open_->token_type_ids) open_->token_type_ids->append(pending_token_type_ids_);
  open_->offsets.append(pending_offsets_);
  switch (layout_.task) {
    case TaskType::classification:
      open_->labels.append(pending_class_labels_);
      break;
    case TaskType::regression:
      open_->labels.append(pending_regression_labels_);
      break;
    case TaskType::translation:
      open_->labels.append(pending_target_ids_);
      open_->label_offsets->append(pending_label_offsets_);
      break;
  }
  pending_input_ids_.clear();
  pending_token_type_ids_.clear();
  pending_offsets_.clear();
  pending_class_labels_.clear();
  pending_regression_labels_.clear();
  pending_target_ids_.clear();
  pending_label_offsets_.clear();
}

void DatasetWriter::commit(DatasetInfo info) {
  DTRAIN_ASSERT(open_, "{}: commit() called twice", path_.string());
  DTRAIN_ASSERT(
      info.task == layout_.task && info.vocab_size == layout_.vocab_size &&
          (layout_.task != TaskType::translation || info.target_vocab_size == layout_.target_vocab_size),
      "{}: info does not match the writer", path_.string());
  DTRAIN_ASSERT(max_class_label_ < info.num_labels, "{}: label {} but only {} labels", path_.string(),
                max_class_label_, info.num_labels);
  flush();
  info.format_version = kFormatVersion;
  info.has_token_type_ids = layout_.token_type_ids;
  info.num_samples = num_samples_;
  info.total_tokens = total_tokens_;
  info.total_target_tokens = total_target_tokens_;
  write_info_attributes(open_->file, info);
  hdf5::File file = std::move(open_->file);
  open_.reset();  // closes the datasets; from here on this function removes the temp file itself
  std::error_code error;
  try {
    file.close();
    write_checksum_header(temp_path_);
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
