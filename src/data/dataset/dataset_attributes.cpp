#include "data/dataset/dataset_attributes.h"

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

// Reads an integer attribute that must fit an int and be at least `minimum`.
int read_int(const hdf5::File& file, const char* name, int64_t minimum) {
  const int64_t value = file.int_attribute(name);
  DTRAIN_CHECK(value >= minimum && value <= std::numeric_limits<int>::max(),
               "{}: attribute '{}' has an invalid value {}", file.path().string(), name, value);
  return static_cast<int>(value);
}

}  // namespace

void write_info_attributes(hdf5::File& file, const DatasetInfo& info) {
  file.set_attribute(kFormat, std::string(kFormatName));
  file.set_attribute(kFormatVersionAttribute, int64_t{info.format_version});
  file.set_attribute(kTask, std::string(task_name(info.task)));
  file.set_attribute(kNumLabels, int64_t{info.num_labels});
  file.set_attribute(kLabelNames, info.label_names);
  file.set_attribute(kVocabSize, int64_t{info.vocab_size});
  file.set_attribute(kPadId, int64_t{info.pad_id});
  file.set_attribute(kClsId, int64_t{info.cls_id});
  file.set_attribute(kSepId, int64_t{info.sep_id});
  file.set_attribute(kMaxLength, int64_t{info.max_length});
  file.set_attribute(kVocabSha256, info.vocab_sha256);
  file.set_attribute(kSourceFile, info.source_file);
  file.set_attribute(kSourceSha256, info.source_sha256);
  file.set_attribute(kTokenizerSettings, info.tokenizer_settings_json);
  file.set_attribute(kNumSamples, info.num_samples);
  file.set_attribute(kTotalTokens, info.total_tokens);
}

DatasetInfo read_info_attributes(const hdf5::File& file) {
  const std::string path = file.path().string();
  DTRAIN_CHECK(file.has_attribute(kFormat), "{}: not a dtrain dataset (attribute '{}' is missing)", path,
               kFormat);
  const std::string format = file.string_attribute(kFormat);
  DTRAIN_CHECK(format == kFormatName, "{}: format '{}' is not {}", path, format, kFormatName);
  DatasetInfo info;
  info.format_version = read_int(file, kFormatVersionAttribute, 1);
  DTRAIN_CHECK(info.format_version <= kFormatVersion, "{}: format version {} is newer than this dtrain ({})",
               path, info.format_version, kFormatVersion);
  info.task = parse_task(file.string_attribute(kTask));
  info.num_labels = read_int(file, kNumLabels, 1);
  info.label_names = file.string_list_attribute(kLabelNames);
  DTRAIN_CHECK(info.label_names.empty() || static_cast<int>(info.label_names.size()) == info.num_labels,
               "{}: {} label names for {} labels", path, info.label_names.size(), info.num_labels);
  info.vocab_size = read_int(file, kVocabSize, 1);
  info.pad_id = read_int(file, kPadId, 0);
  info.cls_id = read_int(file, kClsId, 0);
  info.sep_id = read_int(file, kSepId, 0);
  info.max_length = read_int(file, kMaxLength, 1);
  info.vocab_sha256 = file.string_attribute(kVocabSha256);
  info.source_file = file.string_attribute(kSourceFile);
  info.source_sha256 = file.string_attribute(kSourceSha256);
  info.tokenizer_settings_json = file.string_attribute(kTokenizerSettings);
  info.num_samples = file.int_attribute(kNumSamples);
  info.total_tokens = file.int_attribute(kTotalTokens);
  DTRAIN_CHECK(info.num_samples >= 0 && info.total_tokens >= 0, "{}: negative sample or token count", path);
  return info;
}

}  // namespace dtrain::data
