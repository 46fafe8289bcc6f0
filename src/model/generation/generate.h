#pragma once
// generate() for encoder-decoder models: greedy search (num_beams 1) and beam search, with the
// semantics of transformers' GenerationMixin.generate() (5.x) for the fields of GenerationConfig.
//
// The output is token for token what transformers returns for the same weights and inputs: each row
// starts with the decoder start token; greedy rows that finished early are padded with pad_token_id
// up to the longest row; beam search returns the best num_return_sequences hypotheses per input,
// best first, padded like transformers up to the longest returned one.
//
// Unlike transformers' loop, inputs whose result can no longer change (greedy rows that emitted eos,
// beam-search inputs whose finished hypotheses can no longer be beaten) leave the batch, so a short
// sentence does not pay for the decoding steps of the longest one.
#include <ATen/core/Tensor.h>

#include "model/generation/generation_config.h"
#include "model/generation/seq2seq_lm.h"

namespace dtrain::model {

// input_ids, attention_mask: int64 [batch, src] (mask 1 = token, 0 = padding; undefined = no padding).
// Returns int64 [batch * num_return_sequences, length] on input_ids' device. Runs without autograd
// and without dropout. Throws dtrain::Error for settings it does not implement (see GenerationConfig).
at::Tensor generate(Seq2SeqLM& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                    const GenerationConfig& config);

}  // namespace dtrain::model
