#pragma once
// A small prepared dataset whose content names each sample, so loader tests can check that the rows
// they receive really are the samples they were assigned: sample i is [CLS] 1000+i i%7 ... [SEP]
// (length 3 + i % 9, second segment from the middle) with class label i % 3.
#include <filesystem>

#include "data/dataset/dataset_writer.h"

namespace dtrain::testing {

inline constexpr int kSyntheticVocabSize = 30522;
inline constexpr int32_t kSyntheticPadId = 0;

inline data::Encoding synthetic_sample(int64_t i) {
  data::Encoding encoding;
  const int64_t length = 3 + i % 9;
  for (int64_t t = 0; t < length; ++t) {
    const int32_t id = t == 0            ? 101
                       : t == length - 1 ? 102
                       : t == 1          ? static_cast<int32_t>(1000 + i)
                                         : 2000 + i % 7;
    encoding.input_ids.push_back(id);
    encoding.token_type_ids.push_back(t >= length / 2 ? 1 : 0);
  }
  return encoding;
}

inline int64_t synthetic_label(int64_t i) {
  return i % 3;
}

inline void write_synthetic_dataset(const std::filesystem::path& path, int64_t count) {
  data::DatasetWriter writer(path, data::TaskType::classification, kSyntheticVocabSize);
  for (int64_t i = 0; i < count; ++i) writer.add(synthetic_sample(i), synthetic_label(i));
  data::DatasetInfo info;
  info.task = data::TaskType::classification;
  info.num_labels = 3;
  info.vocab_size = kSyntheticVocabSize;
  info.pad_id = kSyntheticPadId;
  info.cls_id = 101;
  info.sep_id = 102;
  info.max_length = 11;
  writer.commit(info);
}

// The sample a collated row holds, checked against its full content and label; -1 when it differs.
inline int64_t identify_row(const data::Batch& batch, int64_t row) {
  const auto at = [&](int64_t column) {
    return batch.input_ids[static_cast<size_t>(row * batch.seq_len + column)];
  };
  const int64_t sample = at(1) - 1000;
  const data::Encoding expected = synthetic_sample(sample);
  for (int64_t column = 0; column < batch.seq_len; ++column) {
    const auto cell = static_cast<size_t>(row * batch.seq_len + column);
    const bool real = column < static_cast<int64_t>(expected.input_ids.size());
    const int64_t id = real ? expected.input_ids[static_cast<size_t>(column)] : kSyntheticPadId;
    const int64_t type = real ? expected.token_type_ids[static_cast<size_t>(column)] : 0;
    if (batch.input_ids[cell] != id || batch.token_type_ids[cell] != type ||
        batch.attention_mask[cell] != real) {
      return -1;
    }
  }
  if (batch.class_labels[static_cast<size_t>(row)] != synthetic_label(sample)) return -1;
  return sample;
}

}  // namespace dtrain::testing
