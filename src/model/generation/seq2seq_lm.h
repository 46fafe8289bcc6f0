#pragma once
// What generate() needs from an encoder-decoder language model: encode a batch once, then extend
// every decoder row by one token at a time with cached keys/values.
//
// Rows and inputs: generation runs `rows_per_input` decoder rows per input sequence (the beams), row r
// belonging to input r / rows_per_input. The encoder output and everything derived from it (cross-
// attention keys/values, the source padding bias) is kept once per input, not per row.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>

namespace dtrain::model {

class DecodingState {
 public:
  virtual ~DecodingState() = default;
  // Feeds one token per row (int64 [rows]) at the next position and returns the next-token logits,
  // float32 [rows, vocab].
  virtual at::Tensor step(const at::Tensor& tokens) = 0;
  // Continues with a new set of rows: new row i is old row rows[i] (int64, on the state's device).
  // `inputs` (int64, ascending old input indices) lists the inputs that remain, or is undefined when
  // all do; the new rows must be grouped by input in that order, rows_per_input each. Beam search
  // reorders rows within their input; both searches drop inputs that are finished.
  virtual void select(const at::Tensor& rows, const at::Tensor& inputs) = 0;
  // Tokens fed so far.
  virtual int64_t length() const = 0;
};

class Seq2SeqLM {
 public:
  virtual ~Seq2SeqLM() = default;
  // Runs the encoder (eval, no autograd) on input_ids/attention_mask (int64 [batch, seq], 1 = token,
  // 0 = padding) and prepares decoding of up to `max_length` tokens with `rows_per_input` rows per input.
  virtual std::unique_ptr<DecodingState> start_decoding(const at::Tensor& input_ids,
                                                        const at::Tensor& attention_mask,
                                                        int64_t rows_per_input, int64_t max_length) = 0;
  // Size of the logits' last dimension.
  virtual int64_t target_vocab_size() const = 0;
  // Positions the decoder can embed (caps generate()'s default max_length).
  virtual int64_t max_target_positions() const = 0;
};

}  // namespace dtrain::model
