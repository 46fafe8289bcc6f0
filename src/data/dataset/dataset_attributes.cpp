#include "data/dataset/dataset_attributes.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <limits>

#include "common/error.h"

namespace dtrain::data {
namespace {

constexpr const char* kFormat = "format";
constexpr const char* kFormatVersionAttribute = "format_version";
constexpr const char* kTask = "task";
constexpr const char* kNumLabels = "num_labels";
constexpr const char* kLabelNames = "label_names";
constexpr const char* kVocabSize = "vocab_size";
constexpr const char* kPadId = "pad_id";
constexpr const char* kClsId = "cls_id";
constexpr const char* kSepId = "sep_id";
constexpr const char* kMaxLength = "max_length";
constexpr const char* kVocabSha256 = "vocab_sha256";
constexpr const char* kSourceFile = "source_file";
constexpr const char* kSourceSha256 = "source_sha256";
constexpr const char* kTokenizerSettings = "tokenizer_settings";
constexpr const char* kNumSamples = "num_samples";
constexpr const char* kTotalTokens = "total_tokens";
// Added in format 2.
constexpr const char* kTokenStreams = "token_streams";
constexpr const char* kTokenizerType = "tokenizer_type";
constexpr const char* kEosId = "eos_id";
constexpr const char* kTargetVocabSize = "target_vocab_size";
constexpr const char* kTargetVocabSha256 = "target_vocab_sha256";
constexpr const char* kMaxTargetLength = "max_target_length";
constexpr const char* kDecoderStartTokenId = "decoder_start_token_id";
constexpr const char* kTotalTargetTokens = "total_target_tokens";

// Reads an integer attribute that must fit an int and be at least `minimum`.
int read_int(const hdf5::File& file, const char* name, int64_t minimum) {
  const int64_t value = file.int_attribute(name);
  DTRAIN_CHECK(value >= minimum && value <= std::numeric_limits<int>::max(),
               "{}: attribute '{}' has an invalid value {}", file.path().string(), name, value);
  return static_cast<int>(value);
}

// A token id attribute: an id below `vocab_size`, or kNoTokenId where `optional`.
int32_t read_token_id(const hdf5::File& file, const char* name, int vocab_size, bool optional) {
  const int id = read_int(file, name, optional ? kNoTokenId : 0);
  DTRAIN_CHECK(id < vocab_size, "{}: attribute '{}' is {}, outside the vocabulary (size {})",
               file.path().string(), name, id, vocab_size);
  return id;
}

int64_t read_count(const hdf5::File& file, const char* name) {
  const int64_t value = file.int_attribute(name);
  DTRAIN_CHECK(value >= 0, "{}: attribute '{}' is negative ({})", file.path().string(), name, value);
  return value;
}

void read_format_2_attributes(const hdf5::File& file, hdf5::StringStorage strings, DatasetInfo& info) {
  const std::string path = file.path().string();
  info.tokenizer_type = file.string_attribute(kTokenizerType, strings);
  info.eos_id = read_token_id(file, kEosId, info.vocab_size, true);
  const std::vector<std::string> streams = file.string_list_attribute(kTokenStreams, strings);
  const auto listed = [&](const char* name) {
    return std::find(streams.begin(), streams.end(), name) != streams.end();
  };
  info.has_token_type_ids = listed(kTokenTypeIds);
  info.total_target_tokens = read_count(file, kTotalTargetTokens);
  if (info.task == TaskType::translation) {
    info.target_vocab_size = read_int(file, kTargetVocabSize, 1);
    info.target_vocab_sha256 = file.string_attribute(kTargetVocabSha256, strings);
    info.max_target_length = read_int(file, kMaxTargetLength, 1);
    info.decoder_start_token_id = read_token_id(file, kDecoderStartTokenId, info.target_vocab_size, false);
    DTRAIN_CHECK(info.pad_id < info.target_vocab_size,
                 "{}: pad_id {} is outside the target vocabulary (size {})", path, info.pad_id,
                 info.target_vocab_size);
  }
  DTRAIN_CHECK(streams == info.token_streams(),
               "{}: attribute '{}' lists [{}], expected [{}] for a {} dataset", path, kTokenStreams,
               fmt::join(streams, ", "), fmt::join(info.token_streams(), ", "), task_name(info.task));
}

}  // namespace

void write_info_attributes(hdf5::File& file, const DatasetInfo& info) {
  file.set_attribute(kFormat, std::string(kFormatName));
  file.set_attribute(kFormatVersionAttribute, int64_t{info.format_version});
  file.set_attribute(kTask, std::string(task_name(info.task)));
  file.set_attribute(kTokenStreams, info.token_streams());
  file.set_attribute(kNumLabels, int64_t{info.num_labels});
  file.set_attribute(kLabelNames, info.label_names);
  file.set_attribute(kTokenizerType, info.tokenizer_type);
  file.set_attribute(kTokenizerSettings, info.tokenizer_settings_json);
  file.set_attribute(kVocabSize, int64_t{info.vocab_size});
  file.set_attribute(kVocabSha256, info.vocab_sha256);
  file.set_attribute(kPadId, int64_t{info.pad_id});
  file.set_attribute(kClsId, int64_t{info.cls_id});
  file.set_attribute(kSepId, int64_t{info.sep_id});
  file.set_attribute(kEosId, int64_t{info.eos_id});
  file.set_attribute(kMaxLength, int64_t{info.max_length});
  file.set_attribute(kTargetVocabSize, int64_t{info.target_vocab_size});
  file.set_attribute(kTargetVocabSha256, info.target_vocab_sha256);
  file.set_attribute(kMaxTargetLength, int64_t{info.max_target_length});
  file.set_attribute(kDecoderStartTokenId, int64_t{info.decoder_start_token_id});
  file.set_attribute(kSourceFile, info.source_file);
  file.set_attribute(kSourceSha256, info.source_sha256);
  file.set_attribute(kNumSamples, info.num_samples);
  file.set_attribute(kTotalTokens, info.total_tokens);
  file.set_attribute(kTotalTargetTokens, info.total_target_tokens);
}

DatasetInfo read_info_attributes(const hdf5::File& file, hdf5::StringStorage strings) {
  const std::string path = file.path().string();
  DTRAIN_CHECK(file.has_attribute(kFormat), "{}: not a dtrain dataset (attribute '{}' is missing)", path,
               kFormat);
  const std::string format = file.string_attribute(kFormat, strings);
  DTRAIN_CHECK(format == kFormatName, "{}: format '{}' is not {}", path, format, kFormatName);
  DatasetInfo info;
  info.format_version = read_int(file, kFormatVersionAttribute, 1);
  DTRAIN_CHECK(info.format_version <= kFormatVersion, "{}: format version {} is newer than this dtrain ({})",
               path, info.format_version, kFormatVersion);
  info.task = parse_task(file.string_attribute(kTask, strings));
  DTRAIN_CHECK(info.format_version >= 2 || info.task != TaskType::translation,
               "{}: format version 1 has no translation datasets", path);
  info.num_labels = read_int(file, kNumLabels, info.task == TaskType::translation ? 0 : 1);
  info.label_names = file.string_list_attribute(kLabelNames, strings);
  DTRAIN_CHECK(info.label_names.empty() || static_cast<int>(info.label_names.size()) == info.num_labels,
               "{}: {} label names for {} labels", path, info.label_names.size(), info.num_labels);
  info.vocab_size = read_int(file, kVocabSize, 1);
  // Format 1 wrote BERT datasets only, where every special token exists.
  const bool optional_ids = info.format_version >= 2;
  info.pad_id = read_token_id(file, kPadId, info.vocab_size, false);
  info.cls_id = read_token_id(file, kClsId, info.vocab_size, optional_ids);
  info.sep_id = read_token_id(file, kSepId, info.vocab_size, optional_ids);
  info.max_length = read_int(file, kMaxLength, 1);
  info.vocab_sha256 = file.string_attribute(kVocabSha256, strings);
  info.source_file = file.string_attribute(kSourceFile, strings);
  info.source_sha256 = file.string_attribute(kSourceSha256, strings);
  info.tokenizer_settings_json = file.string_attribute(kTokenizerSettings, strings);
  info.num_samples = read_count(file, kNumSamples);
  info.total_tokens = read_count(file, kTotalTokens);
  if (info.format_version >= 2) read_format_2_attributes(file, strings, info);
  return info;
}

}  // namespace dtrain::data
