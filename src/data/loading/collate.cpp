#include "data/loading/collate.h"

#include <algorithm>
#include <cstddef>

#include "common/error.h"

namespace dtrain::data {
namespace {

// The longest of the samples cut by `starts`, rounded up to a multiple of `multiple` when > 1.
int64_t padded_length(const std::vector<int64_t>& starts, int64_t multiple) {
  int64_t longest = 0;
  for (size_t i = 0; i + 1 < starts.size(); ++i) longest = std::max(longest, starts[i + 1] - starts[i]);
  if (multiple > 1) longest = (longest + multiple - 1) / multiple * multiple;
  return longest;
}

void collate_targets(const SampleBlock& block, const CollateOptions& options, Batch& batch) {
  DTRAIN_ASSERT(block.label_starts.size() == block.starts.size() && block.label_starts.front() == 0 &&
                    block.label_ids.size() == static_cast<size_t>(block.label_starts.back()),
                "sample block holds {} target ids for {} samples", block.label_ids.size(), batch.batch_size);
  DTRAIN_CHECK(options.decoder_start_token_id != kNoTokenId,
               "collating translation targets needs the dataset's decoder_start_token_id");
  batch.target_len = padded_length(block.label_starts, options.pad_to_multiple_of);
  const auto cells = static_cast<size_t>(batch.batch_size * batch.target_len);
  batch.labels.assign(cells, kLabelPadId);
  batch.decoder_input_ids.assign(cells, options.pad_id);
  for (int64_t i = 0; i < batch.batch_size; ++i) {
    const auto first = static_cast<size_t>(block.label_starts[i]);
    const auto length = static_cast<size_t>(block.label_starts[i + 1]) - first;
    const auto row = static_cast<size_t>(i * batch.target_len);
    std::copy_n(block.label_ids.begin() + first, length, batch.labels.begin() + row);
    if (batch.target_len == 0) continue;
    // shift_tokens_right: the decoder sees the start token, then the targets but the last cell.
    batch.decoder_input_ids[row] = options.decoder_start_token_id;
    const size_t shifted = std::min(length, static_cast<size_t>(batch.target_len) - 1);
    std::copy_n(block.label_ids.begin() + first, shifted, batch.decoder_input_ids.begin() + row + 1);
  }
  batch.num_target_tokens = block.label_starts.back();
}

}  // namespace

CollateOptions collate_options(const DatasetInfo& info, int64_t pad_to_multiple_of) {
  CollateOptions options;
  options.pad_id = info.pad_id;
  options.pad_to_multiple_of = pad_to_multiple_of;
  options.decoder_start_token_id = info.decoder_start_token_id;
  return options;
}

Batch collate(const SampleBlock& block, const CollateOptions& options) {
  DTRAIN_CHECK(options.pad_to_multiple_of >= 0, "pad_to_multiple_of must not be negative (got {})",
               options.pad_to_multiple_of);
  DTRAIN_ASSERT(!block.starts.empty() && block.starts.front() == 0, "sample block without a start index");
  Batch batch;
  batch.batch_size = static_cast<int64_t>(block.starts.size()) - 1;
  const auto tokens = static_cast<size_t>(block.starts.back());
  const bool has_types = !block.token_type_ids.empty();
  DTRAIN_ASSERT(block.input_ids.size() == tokens && (!has_types || block.token_type_ids.size() == tokens),
                "sample block holds {} input ids and {} token types for {} tokens", block.input_ids.size(),
                block.token_type_ids.size(), tokens);
  const bool translation = !block.label_starts.empty();
  const auto labels = static_cast<int64_t>(block.class_labels.size() + block.regression_labels.size());
  DTRAIN_ASSERT(translation || labels == batch.batch_size, "sample block holds {} labels for {} samples",
                labels, batch.batch_size);

  batch.seq_len = padded_length(block.starts, options.pad_to_multiple_of);
  const auto cells = static_cast<size_t>(batch.batch_size * batch.seq_len);
  batch.input_ids.assign(cells, options.pad_id);
  batch.attention_mask.assign(cells, 0);
  batch.token_type_ids.assign(cells, 0);
  for (int64_t i = 0; i < batch.batch_size; ++i) {
    const auto first = static_cast<size_t>(block.starts[i]);
    const auto length = static_cast<size_t>(block.starts[i + 1]) - first;
    const auto row = static_cast<size_t>(i * batch.seq_len);
    std::copy_n(block.input_ids.begin() + first, length, batch.input_ids.begin() + row);
    if (has_types)
      std::copy_n(block.token_type_ids.begin() + first, length, batch.token_type_ids.begin() + row);
    std::fill_n(batch.attention_mask.begin() + row, length, 1);
  }
  batch.num_tokens = static_cast<int64_t>(tokens);
  batch.class_labels = block.class_labels;
  batch.regression_labels = block.regression_labels;
  if (translation) collate_targets(block, options, batch);
  return batch;
}

}  // namespace dtrain::data
