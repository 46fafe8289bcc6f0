#include "data/dataset/dataset_validation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace dtrain::data {
namespace {

// Samples per read: bounded memory on large datasets.
constexpr int64_t kSamplesPerRead = 8192;

void record_length(StreamSummary& summary, int64_t length, bool first) {
  summary.tokens += length;
  summary.shortest = first ? length : std::min(summary.shortest, length);
  summary.longest = std::max(summary.longest, length);
}

// `[CLS] a [SEP]` (type 0) then optionally `b [SEP]` (type 1). Token types are structural: a text
// may itself contain the [SEP] token, so the segment boundary is where the type changes.
bool check_bert_sample(const SampleBlock& block, size_t j, const DatasetInfo& info,
                       const std::string& where) {
  const int64_t begin = block.starts[j], end = block.starts[j + 1];
  DTRAIN_CHECK(block.input_ids[begin] == info.cls_id, "{}: starts with token {} instead of [CLS] ({})", where,
               block.input_ids[begin], info.cls_id);
  int64_t second_segment = end;
  for (int64_t t = begin; t < end; ++t) {
    if (block.token_type_ids[t] == 1 && second_segment == end) second_segment = t;
    DTRAIN_CHECK(block.token_type_ids[t] == (t >= second_segment ? 1 : 0),
                 "{}: token {} has token type {} after a token of type 1 (types must be 0 for [CLS] a [SEP], "
                 "then 1 for b [SEP])",
                 where, t - begin, block.token_type_ids[t]);
  }
  DTRAIN_CHECK(second_segment - begin >= 2 && block.input_ids[second_segment - 1] == info.sep_id,
               "{}: its first segment (token type 0) does not end with [SEP] ({})", where, info.sep_id);
  const bool pair = second_segment < end;
  DTRAIN_CHECK(!pair || block.input_ids[end - 1] == info.sep_id,
               "{}: its second segment (token type 1) does not end with [SEP] ({})", where, info.sep_id);
  return pair;
}

}  // namespace

ValidationReport validate_dataset(const DatasetReader& reader) {
  const DatasetInfo& info = reader.info();
  const std::string path = reader.path().string();
  const bool bert = info.has_token_type_ids && info.cls_id != kNoTokenId && info.sep_id != kNoTokenId;
  const bool translation = info.task == TaskType::translation;
  ValidationReport report;
  for (const std::string& name : info.token_streams()) report.streams.push_back({name});
  StreamSummary& source = report.streams.front();
  StreamSummary* target = translation ? &report.streams.back() : nullptr;
  if (info.task == TaskType::classification)
    report.label_counts.assign(static_cast<size_t>(info.num_labels), 0);

  for (int64_t first = 0; first < reader.num_samples(); first += kSamplesPerRead) {
    std::vector<int64_t> indices(std::min(kSamplesPerRead, reader.num_samples() - first));
    std::iota(indices.begin(), indices.end(), first);
    const SampleBlock block = reader.read(indices);
    for (size_t j = 0; j < indices.size(); ++j) {
      const int64_t sample = indices[j];
      const std::string where = fmt::format("{}: sample {}", path, sample);
      const int64_t length = block.starts[j + 1] - block.starts[j];
      DTRAIN_CHECK(length <= info.max_length, "{} has {} tokens, more than max_length {}", where, length,
                   info.max_length);
      record_length(source, length, sample == 0);
      if (info.has_token_type_ids) record_length(report.streams[1], length, sample == 0);
      if (bert && check_bert_sample(block, j, info, where)) ++report.pairs;
      if (info.task == TaskType::classification)
        ++report.label_counts[static_cast<size_t>(block.class_labels[j])];
      if (info.task == TaskType::regression) {
        const float value = block.regression_labels[j];
        DTRAIN_CHECK(std::isfinite(value), "{}: regression target {} is not a finite number", where, value);
        report.target_min = sample == 0 ? value : std::min<double>(report.target_min, value);
        report.target_max = sample == 0 ? value : std::max<double>(report.target_max, value);
      }
      if (!translation) continue;
      const int64_t target_length = block.label_starts[j + 1] - block.label_starts[j];
      DTRAIN_CHECK(target_length <= info.max_target_length,
                   "{} has {} target tokens, more than max_target_length {}", where, target_length,
                   info.max_target_length);
      record_length(*target, target_length, sample == 0);
      if (info.eos_id == kNoTokenId) continue;
      DTRAIN_CHECK(block.input_ids[block.starts[j + 1] - 1] == info.eos_id,
                   "{}: its source does not end with EOS ({})", where, info.eos_id);
      DTRAIN_CHECK(block.label_ids[block.label_starts[j + 1] - 1] == info.eos_id,
                   "{}: its target does not end with EOS ({})", where, info.eos_id);
    }
  }
  return report;
}

}  // namespace dtrain::data
