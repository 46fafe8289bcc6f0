#pragma once
// Model FLOPs of BERT training steps, for model FLOP/s and MFU in log.jsonl. Counted as the matrix
// products of forward and backward (2 FLOPs per multiply-add; backward = 2 x forward), from the
// model's shapes and the batch's token counts, the way torch.utils.flop_counter counts them:
//   per layer and token:    8h^2 (q, k, v, output projections) + 4hI (feed-forward)
//   per layer and sequence: 4hs^2 (scores q.k and context p.v; grows with the square of the length)
//   per sequence:           2h^2 (pooler) + 2hC (classifier)
// Element-wise work (softmax, LayerNorm, GELU, dropout) and embedding lookups are not counted.
// "real" counts each sample at its own length (the work a model must do); "padded" at the batch's
// padded length (the work the matrix products actually did). Torch-free.
#include <cstdint>
#include <vector>

#include "data/loading/collate.h"
#include "model/bert/bert_config.h"
#include "model/training_flops.h"

namespace dtrain::model {

// Forward + backward FLOPs of one collated batch (lengths from its attention mask).
TrainingFlops training_flops(const BertConfig& config, const data::Batch& batch);

// The same for sequences of the given lengths, padded to `padded_length` (at least the longest).
TrainingFlops training_flops(const BertConfig& config, const std::vector<int64_t>& lengths,
                             int64_t padded_length);

}  // namespace dtrain::model
