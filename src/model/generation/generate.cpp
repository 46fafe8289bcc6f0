#include "model/generation/generate.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"

namespace dtrain::model {
namespace {

constexpr int64_t kPromptLength = 1;  // the decoder starts from the start token alone
// transformers' stand-in for "impossible" in beam search scores (not -inf, so sums stay ordered).
constexpr double kImpossible = -1.0e9;
constexpr double kNegativeInfinity = -std::numeric_limits<double>::infinity();

at::Tensor long_tensor(const std::vector<int64_t>& values, at::Device device) {
  return at::tensor(values, at::TensorOptions().dtype(at::kLong)).to(device);
}

// transformers' logits processors for the fields dtrain supports, applied in generate()'s order:
// no_repeat_ngram_size, bad_words_ids, min_length, forced_bos_token_id, forced_eos_token_id,
// renormalize_logits. Scores are modified in place.
class LogitsProcessors {
 public:
  LogitsProcessors(const ResolvedGeneration& settings, int64_t vocab_size, at::Device device)
      : settings_(settings), vocab_size_(vocab_size) {
    if (!settings.eos_token_ids.empty()) eos_ = long_tensor(settings.eos_token_ids, device);
    if (!settings.forced_eos_token_ids.empty())
      forced_eos_ = long_tensor(settings.forced_eos_token_ids, device);
    std::vector<int64_t> banned;
    for (const std::vector<int64_t>& sequence : settings.bad_words_ids) {
      if (sequence.size() == 1) {
        banned.push_back(sequence.front());
      } else {
        const std::vector<int64_t> prefix(sequence.begin(), sequence.end() - 1);
        bad_sequences_.push_back({long_tensor(prefix, device), sequence.back()});
      }
    }
    if (!banned.empty()) {
      banned_tokens_ = at::zeros({vocab_size}, at::TensorOptions().dtype(at::kBool).device(device));
      banned_tokens_.index_fill_(0, long_tensor(banned, device), true);
    }
  }

  // Whether apply() reads the sequences so far (n-gram and multi-token bad-word bans).
  bool needs_sequences() const { return settings_.no_repeat_ngram_size > 0 || !bad_sequences_.empty(); }

  // scores: float [rows, vocab]; sequences: int64 [rows, length] (when needs_sequences()).
  at::Tensor apply(at::Tensor scores, const at::Tensor& sequences, int64_t length) const {
    if (settings_.no_repeat_ngram_size > 0 && length >= settings_.no_repeat_ngram_size)
      ban_repeated_ngrams(scores, sequences, length);
    if (banned_tokens_.defined()) scores.masked_fill_(banned_tokens_, kNegativeInfinity);
    for (const BadSequence& bad : bad_sequences_) {
      const int64_t prefix_length = bad.prefix.size(0);
      if (prefix_length + 1 > length) continue;  // longer than the context: cannot complete yet
      const at::Tensor completes =
          sequences.narrow(1, length - prefix_length, prefix_length).eq(bad.prefix).all(1);
      scores.select(1, bad.last_token).masked_fill_(completes, kNegativeInfinity);
    }
    if (settings_.min_length > 0 && eos_.defined() && length < settings_.min_length)
      scores.index_fill_(1, eos_, kNegativeInfinity);
    if (settings_.forced_bos_token_id && length == 1) {
      scores.fill_(kNegativeInfinity);
      scores.select(1, *settings_.forced_bos_token_id).fill_(0.0);
    }
    if (forced_eos_.defined() && length == settings_.max_length - 1) {
      scores.fill_(kNegativeInfinity);
      scores.index_fill_(1, forced_eos_, 0.0);
    }
    if (settings_.renormalize_logits) scores = at::log_softmax(scores, -1);
    return scores;
  }

 private:
  // NoRepeatNGramLogitsProcessor: a token that would complete an n-gram already in the sequence is
  // banned. Every window whose first n-1 tokens equal the last n-1 tokens bans its own last token.
  void ban_repeated_ngrams(at::Tensor& scores, const at::Tensor& sequences, int64_t length) const {
    const int64_t n = settings_.no_repeat_ngram_size;
    const at::Tensor prefix = sequences.narrow(1, length + 1 - n, n - 1);
    const at::Tensor windows = sequences.unfold(1, n, 1);  // [rows, length - n + 1, n]
    const at::Tensor matches = windows.narrow(2, 0, n - 1).eq(prefix.unsqueeze(1)).all(-1);
    // Windows that do not match write into a spare column past the vocabulary.
    at::Tensor banned = at::zeros({scores.size(0), vocab_size_ + 1}, scores.options().dtype(at::kBool));
    banned.scatter_(1, at::where(matches, windows.select(2, n - 1), vocab_size_), true);
    scores.masked_fill_(banned.narrow(1, 0, vocab_size_), kNegativeInfinity);
  }

  struct BadSequence {
    at::Tensor prefix;  // the tokens before the last one
    int64_t last_token;
  };

  const ResolvedGeneration& settings_;
  int64_t vocab_size_;
  at::Tensor eos_;
  at::Tensor forced_eos_;
  at::Tensor banned_tokens_;  // bool [vocab]: single-token bad words
  std::vector<BadSequence> bad_sequences_;
};

// Copies a small bool tensor to the host (one synchronisation per decoding step).
std::vector<bool> to_host(const at::Tensor& flags) {
  const at::Tensor host = flags.to(at::kCPU).contiguous();
  const bool* data = host.data_ptr<bool>();
  return std::vector<bool>(data, data + host.numel());
}

at::Tensor indices_where(const std::vector<bool>& flags, bool value, at::Device device) {
  std::vector<int64_t> indices;
  for (size_t index = 0; index < flags.size(); ++index)
    if (flags[index] == value) indices.push_back(static_cast<int64_t>(index));
  return long_tensor(indices, device);
}

at::Tensor greedy_search(Seq2SeqLM& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                         const ResolvedGeneration& settings, const LogitsProcessors& processors) {
  const int64_t batch_size = input_ids.size(0);
  const at::Device device = input_ids.device();
  const at::TensorOptions long_options = at::TensorOptions().dtype(at::kLong).device(device);
  // A row that emitted eos receives pad tokens from then on, as in transformers.
  at::Tensor sequences =
      at::full({batch_size, settings.max_length}, settings.pad_token_id.value_or(0), long_options);
  sequences.select(1, 0).fill_(settings.decoder_start_token_id);
  const at::Tensor eos =
      settings.eos_token_ids.empty() ? at::Tensor() : long_tensor(settings.eos_token_ids, device);

  std::unique_ptr<DecodingState> state =
      model.start_decoding(input_ids, attention_mask, 1, settings.max_length);
  at::Tensor active = at::arange(batch_size, long_options);  // the sequences row of each decoding row
  at::Tensor last_tokens = sequences.select(1, 0).clone();
  int64_t length = 1;
  while (true) {
    at::Tensor scores = state->step(last_tokens);
    const at::Tensor so_far =
        processors.needs_sequences() ? sequences.narrow(1, 0, length).index_select(0, active) : at::Tensor();
    scores = processors.apply(scores, so_far, length);
    const at::Tensor next = scores.argmax(-1);
    sequences.select(1, length).index_copy_(0, active, next);
    ++length;
    if (length >= settings.max_length || !eos.defined()) {
      if (length >= settings.max_length) break;
      last_tokens = next;
      continue;
    }
    const std::vector<bool> finished = to_host(at::isin(next, eos));
    if (std::all_of(finished.begin(), finished.end(), [](bool flag) { return flag; })) break;
    if (std::none_of(finished.begin(), finished.end(), [](bool flag) { return flag; })) {
      last_tokens = next;
      continue;
    }
    // Finished rows leave the batch; the rest continue exactly as before.
    const at::Tensor keep = indices_where(finished, false, device);
    active = active.index_select(0, keep);
    last_tokens = next.index_select(0, keep);
    state->select(keep, keep);
  }
  return sequences.narrow(1, 0, length);
}

// transformers' beam search (GenerationMixin._beam_search, 5.x), vectorised over the batch in the same
// tensor operations so that scores are computed and ranked alike.
at::Tensor beam_search(Seq2SeqLM& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                       const ResolvedGeneration& settings, const LogitsProcessors& processors) {
  const int64_t batch_size = input_ids.size(0);
  const int64_t num_beams = settings.num_beams;
  const int64_t vocab_size = model.target_vocab_size();
  const int64_t max_length = settings.max_length;
  const int64_t returned = settings.num_return_sequences;
  const double length_penalty = settings.length_penalty;
  const bool stop_when_full = settings.early_stopping == EarlyStopping::kWhenFull;
  // Keep (eos count + 1) x num_beams candidates, so num_beams unfinished ones remain even when the
  // best all end in eos.
  const int64_t candidates =
      std::max<int64_t>(2, 1 + static_cast<int64_t>(settings.eos_token_ids.size())) * num_beams;
  DTRAIN_CHECK(candidates <= num_beams * vocab_size,
               "generation: num_beams {} needs {} candidates per step, more than num_beams x vocab_size",
               num_beams, candidates);
  const at::Device device = input_ids.device();
  const at::TensorOptions long_options = at::TensorOptions().dtype(at::kLong).device(device);
  const at::TensorOptions float_options = at::TensorOptions().dtype(at::kFloat).device(device);
  const at::Tensor eos =
      settings.eos_token_ids.empty() ? at::Tensor() : long_tensor(settings.eos_token_ids, device);

  at::Tensor running =
      at::full({batch_size, num_beams, max_length}, settings.beam_fill_token_id, long_options);
  running.select(2, 0).fill_(settings.decoder_start_token_id);
  at::Tensor finished = running.clone();
  // Only the first beam starts live, so the first step does not pick the same token num_beams times.
  at::Tensor running_scores = at::zeros({batch_size, num_beams}, float_options);
  running_scores.narrow(1, 1, num_beams - 1).fill_(kImpossible);
  at::Tensor finished_scores = at::full({batch_size, num_beams}, kImpossible, float_options);
  at::Tensor finished_lengths = at::full({batch_size, num_beams}, kPromptLength, long_options);
  at::Tensor is_finished = at::zeros({batch_size, num_beams}, long_options.dtype(at::kBool));
  at::Tensor can_improve = at::ones({batch_size, 1}, long_options.dtype(at::kBool));
  const at::Tensor among_best = at::arange(candidates, long_options).lt(num_beams);

  // Inputs whose result is final are written here and leave the batch.
  at::Tensor result = at::empty({batch_size, returned, max_length}, long_options);
  at::Tensor result_lengths = at::empty({batch_size, returned}, long_options);
  at::Tensor active = at::arange(batch_size, long_options);
  const auto store_results = [&](const at::Tensor& rows) {
    const at::Tensor inputs = active.index_select(0, rows);
    result.index_copy_(0, inputs, finished.index_select(0, rows).narrow(1, 0, returned));
    result_lengths.index_copy_(0, inputs, finished_lengths.index_select(0, rows).narrow(1, 0, returned));
  };

  std::unique_ptr<DecodingState> state =
      model.start_decoding(input_ids, attention_mask, num_beams, max_length);
  at::Tensor last_tokens = running.select(2, 0).reshape({-1});
  int64_t length = 1;
  while (true) {
    const int64_t inputs = active.size(0);
    // b. log-probabilities, processed, added to each beam's score.
    at::Tensor log_probs = at::log_softmax(state->step(last_tokens), -1);
    const at::Tensor so_far = processors.needs_sequences()
                                  ? running.narrow(2, 0, length).reshape({inputs * num_beams, length})
                                  : at::Tensor();
    log_probs = processors.apply(log_probs, so_far, length);
    log_probs = (log_probs.view({inputs, num_beams, vocab_size}) + running_scores.unsqueeze(2))
                    .view({inputs, num_beams * vocab_size});

    // c. the best continuations over all beams of an input.
    const auto [top_scores, top_indices] = at::topk(log_probs, candidates);
    const at::Tensor top_beams = top_indices.div(vocab_size, "floor");
    const at::Tensor top_tokens = top_indices.remainder(vocab_size);
    at::Tensor top_sequences = at::take_along_dim(running, top_beams.unsqueeze(2), 1);
    top_sequences.select(2, length).copy_(top_tokens);

    // d. which continuations end here (eos, or the length limit).
    at::Tensor ends = eos.defined() ? at::isin(top_tokens, eos) : at::zeros_like(top_tokens, at::kBool);
    if (length + 1 >= max_length) ends.fill_(true);

    // e. the best num_beams continuations that go on.
    const at::Tensor continuing_scores = top_scores + ends.to(at::kFloat) * kImpossible;
    const at::Tensor next = std::get<1>(at::topk(continuing_scores, num_beams));
    running = at::take_along_dim(top_sequences, next.unsqueeze(2), 1);
    running_scores = at::take_along_dim(continuing_scores, next, 1);
    const at::Tensor source_beams = at::take_along_dim(top_beams, next, 1);

    // f. finished hypotheses: among the best num_beams candidates, those that ended, scored with the
    // length penalty, merged with the earlier ones.
    const at::Tensor ended_among_best = ends.logical_and(among_best);
    at::Tensor scores =
        top_scores / std::pow(static_cast<double>(length + 1 - kPromptLength), length_penalty);
    if (stop_when_full) scores += is_finished.all(1, /*keepdim=*/true).to(at::kFloat) * kImpossible;
    scores += can_improve.logical_not().to(at::kFloat) * kImpossible;
    scores += ended_among_best.logical_not().to(at::kFloat) * kImpossible;
    const at::Tensor merged_scores = at::cat({finished_scores, scores}, 1);
    const at::Tensor keep = std::get<1>(at::topk(merged_scores, num_beams));
    finished = at::take_along_dim(at::cat({finished, top_sequences}, 1), keep.unsqueeze(2), 1);
    finished_scores = at::take_along_dim(merged_scores, keep, 1);
    finished_lengths = at::take_along_dim(
        at::cat({finished_lengths, at::full({inputs, candidates}, length + 1, long_options)}, 1), keep, 1);
    is_finished = at::take_along_dim(at::cat({is_finished, ended_among_best}, 1), keep, 1);
    ++length;

    // Whether the best running beam could still beat the worst finished hypothesis.
    const double best_length = settings.early_stopping == EarlyStopping::kNever && length_penalty > 0.0
                                   ? static_cast<double>(max_length - kPromptLength)
                                   : static_cast<double>(length - kPromptLength);
    const at::Tensor best_running = running_scores.narrow(1, 0, 1) / std::pow(best_length, length_penalty);
    const at::Tensor worst_finished =
        at::where(is_finished, std::get<0>(finished_scores.min(1, /*keepdim=*/true)), kImpossible);
    can_improve = can_improve.logical_and(best_running.gt(worst_finished).any(-1, /*keepdim=*/true));

    // transformers stops when no input can improve, when every hypothesis is finished under
    // early_stopping true, or when every candidate ended.
    const std::vector<bool> flags =
        to_host(at::stack({can_improve.squeeze(1), is_finished.all(1), ends.all(1)}).flatten());
    const auto flag = [&](int row, int64_t input) { return flags[row * inputs + input]; };
    bool any_can_improve = false, all_full = true, all_ended = true;
    std::vector<bool> final_result(inputs);
    for (int64_t input = 0; input < inputs; ++input) {
      any_can_improve = any_can_improve || flag(0, input);
      all_full = all_full && flag(1, input);
      all_ended = all_ended && flag(2, input);
      // An input whose candidates can no longer enter its finished hypotheses has its final result.
      final_result[input] = !flag(0, input) || (stop_when_full && flag(1, input));
    }
    const bool go_on = any_can_improve && !(all_full && stop_when_full) && !all_ended;
    if (!go_on || std::all_of(final_result.begin(), final_result.end(), [](bool done) { return done; })) {
      store_results(at::arange(inputs, long_options));
      break;
    }

    // g. the cache follows the beams; inputs with a final result leave the batch.
    at::Tensor source_rows = (at::arange(inputs, long_options) * num_beams).unsqueeze(1) + source_beams;
    if (std::none_of(final_result.begin(), final_result.end(), [](bool done) { return done; })) {
      state->select(source_rows.flatten(), at::Tensor());
    } else {
      store_results(indices_where(final_result, true, device));
      const at::Tensor kept = indices_where(final_result, false, device);
      state->select(source_rows.index_select(0, kept).flatten(), kept);
      active = active.index_select(0, kept);
      for (at::Tensor* tensor : {&running, &running_scores, &finished, &finished_scores, &finished_lengths,
                                 &is_finished, &can_improve})
        *tensor = tensor->index_select(0, kept);
    }
    last_tokens = running.select(2, length - 1).reshape({-1});
  }
  const int64_t output_length = result_lengths.max().item<int64_t>();
  return result.view({batch_size * returned, max_length}).narrow(1, 0, output_length);
}

}  // namespace

at::Tensor generate(Seq2SeqLM& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                    const GenerationConfig& config) {
  at::NoGradGuard no_grad;
  DTRAIN_CHECK(input_ids.dim() == 2, "generation: input_ids must be [batch, seq], got {} dimensions",
               input_ids.dim());
  DTRAIN_CHECK(!attention_mask.defined() || attention_mask.sizes() == input_ids.sizes(),
               "generation: attention_mask must have the shape of input_ids");
  const ResolvedGeneration settings =
      resolve_generation(config, model.target_vocab_size(), model.max_target_positions());
  const LogitsProcessors processors(settings, model.target_vocab_size(), input_ids.device());
  if (settings.num_beams == 1) return greedy_search(model, input_ids, attention_mask, settings, processors);
  return beam_search(model, input_ids, attention_mask, settings, processors);
}

}  // namespace dtrain::model
