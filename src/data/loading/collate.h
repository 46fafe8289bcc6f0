#pragma once
// Collation: variable-length samples -> one dense, padded batch in plain buffers. int64 everywhere
// because that is what embedding lookups and cross-entropy take; the trainer wraps the buffers with
// torch::from_blob, so this layer stays free of torch.
#include <cstdint>
#include <vector>

#include "data/dataset/dataset_reader.h"

namespace dtrain::data {

// Label padding of sequence targets, ignored by cross-entropy (Hugging Face's label_pad_token_id).
inline constexpr int64_t kLabelPadId = -100;

struct CollateOptions {
  int32_t pad_id = 0;              // the dataset's pad id (DatasetInfo::pad_id)
  int64_t pad_to_multiple_of = 0;  // 0: pad to the longest sample only
  // Translation: the first decoder input (DatasetInfo::decoder_start_token_id).
  int32_t decoder_start_token_id = kNoTokenId;
};

// The options a dataset's batches need: its pad id (and decoder start for translation).
CollateOptions collate_options(const DatasetInfo& info, int64_t pad_to_multiple_of);

// Row-major [batch_size, seq_len] arrays. Exactly one label kind is filled, by the dataset's task.
struct Batch {
  int64_t batch_size = 0;
  int64_t seq_len = 0;
  std::vector<int64_t> input_ids;
  std::vector<int64_t> attention_mask;  // 1 for real tokens, 0 for padding
  std::vector<int64_t> token_type_ids;  // 0 in padding, and everywhere when the dataset has none
  std::vector<int64_t> class_labels;
  std::vector<float> regression_labels;
  int64_t num_tokens = 0;  // real (non-pad) tokens, e.g. for tokens/s
  // Translation, as transformers' DataCollatorForSeq2Seq with a model's decoder: [batch_size,
  // target_len] target ids padded with kLabelPadId, and the decoder inputs: labels shifted right by
  // one, decoder_start_token_id first, padding as pad_id.
  int64_t target_len = 0;
  std::vector<int64_t> labels;
  std::vector<int64_t> decoder_input_ids;
  int64_t num_target_tokens = 0;
};

// Pads every sample of `block` to the block's longest (rounded up to pad_to_multiple_of), and the
// targets of a translation block to their longest (rounded likewise).
Batch collate(const SampleBlock& block, const CollateOptions& options);

}  // namespace dtrain::data
