#include "data/loading/collate.h"

#include <algorithm>
#include <cstddef>

#include "common/error.h"

namespace dtrain::data {

Batch collate(const SampleBlock& block, const CollateOptions& options) {
  DTRAIN_CHECK(options.pad_to_multiple_of >= 0, "pad_to_multiple_of must not be negative (got {})",
               options.pad_to_multiple_of);
  DTRAIN_ASSERT(!block.starts.empty() && block.starts.front() == 0, "sample block without a start index");
  Batch batch;
  batch.batch_size = static_cast<int64_t>(block.starts.size()) - 1;
  const auto tokens = static_cast<size_t>(block.starts.back());
  DTRAIN_ASSERT(block.input_ids.size() == tokens && block.token_type_ids.size() == tokens,
                "sample block holds {} input ids and {} token types for {} tokens", block.input_ids.size(),
                block.token_type_ids.size(), tokens);
  const auto labels = static_cast<int64_t>(block.class_labels.size() + block.regression_labels.size());
  DTRAIN_ASSERT(labels == batch.batch_size, "sample block holds {} labels for {} samples", labels,
                batch.batch_size);

  for (int64_t i = 0; i < batch.batch_size; ++i) {
    batch.seq_len = std::max(batch.seq_len, block.starts[i + 1] - block.starts[i]);
  }
  if (options.pad_to_multiple_of > 1) {
    batch.seq_len = (batch.seq_len + options.pad_to_multiple_of - 1) / options.pad_to_multiple_of *
                    options.pad_to_multiple_of;
  }
  const auto cells = static_cast<size_t>(batch.batch_size * batch.seq_len);
  batch.input_ids.assign(cells, options.pad_id);
  batch.attention_mask.assign(cells, 0);
  batch.token_type_ids.assign(cells, 0);
  for (int64_t i = 0; i < batch.batch_size; ++i) {
    const auto first = static_cast<size_t>(block.starts[i]);
    const auto length = static_cast<size_t>(block.starts[i + 1]) - first;
    const auto row = static_cast<size_t>(i * batch.seq_len);
    std::copy_n(block.input_ids.begin() + first, length, batch.input_ids.begin() + row);
    std::copy_n(block.token_type_ids.begin() + first, length, batch.token_type_ids.begin() + row);
    std::fill_n(batch.attention_mask.begin() + row, length, 1);
  }
  batch.num_tokens = static_cast<int64_t>(tokens);
  batch.class_labels = block.class_labels;
  batch.regression_labels = block.regression_labels;
  return batch;
}

}  // namespace dtrain::data
