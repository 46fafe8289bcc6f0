#include "metrics/bleu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <unordered_map>

#include "common/error.h"
#include "metrics/python_text.h"
#include "metrics/tokenizer_13a.h"

namespace dtrain::metrics {
namespace {

// An n-gram is a run of whole words of a tokenized segment, whose words are joined by single
// spaces: the view from its first word to its last identifies it, and its order is implied.
using NgramCounts = std::unordered_map<std::string_view, int64_t>;

NgramCounts count_ngrams(std::string_view tokenized, int max_order, int64_t& length) {
  const std::vector<std::string_view> words = python_split(tokenized);
  length = static_cast<int64_t>(words.size());
  NgramCounts counts;
  for (size_t n = 1; n <= static_cast<size_t>(max_order); ++n) {
    for (size_t i = 0; i + n <= words.size(); ++i) {
      const char* first = words[i].data();
      const char* end = words[i + n - 1].data() + words[i + n - 1].size();
      ++counts[std::string_view(first, static_cast<size_t>(end - first))];
    }
  }
  return counts;
}

size_t order_of(std::string_view ngram) {
  return static_cast<size_t>(std::count(ngram.begin(), ngram.end(), ' ')) + 1;
}

// The reference length closest to the hypothesis length; the shorter one on a tie.
int64_t closest_reference_length(int64_t hypothesis_length, const std::vector<int64_t>& reference_lengths) {
  int64_t closest_diff = -1, closest = -1;
  for (const int64_t length : reference_lengths) {
    const int64_t diff = std::abs(hypothesis_length - length);
    if (closest_diff == -1 || diff < closest_diff) {
      closest_diff = diff, closest = length;
    } else if (diff == closest_diff && length < closest) {
      closest = length;
    }
  }
  return closest;
}

// sacrebleu's my_log: log with log(0) floored to a very negative number.
double floored_log(double value) {
  return value == 0.0 ? -9999999999.0 : std::log(value);
}

double default_smooth_value(BleuSmoothing method) {
  switch (method) {
    case BleuSmoothing::kFloor:
      return 0.1;
    case BleuSmoothing::kAddK:
      return 1.0;
    default:
      return 0.0;
  }
}

// BLEU.compute_bleu: the score from corpus statistics.
BleuScore compute_bleu(std::vector<double> correct, std::vector<double> total, int64_t sys_len,
                       int64_t ref_len, const BleuOptions& options) {
  const double smooth_value = options.smooth_value.value_or(default_smooth_value(options.smooth_method));
  BleuScore result;
  result.sys_len = sys_len, result.ref_len = ref_len;
  result.bp = 1.0;
  if (sys_len < ref_len) {
    result.bp =
        sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len)) : 0.0;
  }
  const auto order = static_cast<size_t>(options.max_ngram_order);
  result.precisions.assign(order, 0.0);
  if (std::all_of(correct.begin(), correct.end(), [](double c) { return c == 0; })) {
    result.counts = std::move(correct), result.totals = std::move(total);
    return result;  // no match at all: 0, whatever the smoothing
  }
  double smooth_mteval = 1.0;
  size_t effective_order = order;
  for (size_t n = 1; n <= order; ++n) {
    if (options.smooth_method == BleuSmoothing::kAddK && n > 1) {
      correct[n - 1] += smooth_value;
      total[n - 1] += smooth_value;
    }
    if (total[n - 1] == 0) break;
    if (options.effective_order) effective_order = n;
    if (correct[n - 1] == 0) {
      if (options.smooth_method == BleuSmoothing::kExp) {
        smooth_mteval *= 2;
        result.precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1]);
      } else if (options.smooth_method == BleuSmoothing::kFloor) {
        result.precisions[n - 1] = 100.0 * smooth_value / total[n - 1];
      }
    } else {
      result.precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
    }
  }
  double log_sum = 0.0;
  for (size_t n = 0; n < effective_order; ++n) log_sum += floored_log(result.precisions[n]);
  result.score = result.bp * std::exp(log_sum / static_cast<double>(effective_order));
  result.counts = std::move(correct), result.totals = std::move(total);
  return result;
}

const char* smoothing_name(BleuSmoothing method) {
  switch (method) {
    case BleuSmoothing::kNone:
      return "none";
    case BleuSmoothing::kFloor:
      return "floor";
    case BleuSmoothing::kAddK:
      return "add-k";
    case BleuSmoothing::kExp:
      return "exp";
  }
  return "";
}

}  // namespace

void BleuOptions::validate() const {
  DTRAIN_CHECK(tokenize == "13a" || tokenize == "none", "BLEU: unknown tokenizer '{}' (13a or none)",
               tokenize);
  DTRAIN_CHECK(max_ngram_order >= 1, "BLEU: max_ngram_order must be >= 1, got {}", max_ngram_order);
}

std::string BleuScore::verbose() const {
  std::string text;
  for (size_t n = 0; n < precisions.size(); ++n) text += fmt::format("{}{:.1f}", n ? "/" : "", precisions[n]);
  return text + fmt::format(" (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})", bp, ratio(), sys_len,
                            ref_len);
}

std::string BleuScore::format(int width, const std::string& signature) const {
  return fmt::format("BLEU{}{} = {:.{}f} {}", signature.empty() ? "" : "|", signature, score, width,
                     verbose());
}

std::string bleu_preprocess(const std::string& segment, const BleuOptions& options) {
  const std::string cased = options.lowercase ? python_lower(segment) : segment;
  const std::string_view stripped = python_rstrip(cased);
  return options.tokenize == "none" ? tokenize_none(stripped) : tokenize_13a(stripped);
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references, const BleuOptions& options) {
  options.validate();
  DTRAIN_CHECK(!hypotheses.empty(), "BLEU: no hypotheses");
  DTRAIN_CHECK(!references.empty(), "BLEU: no references");
  for (size_t k = 0; k < references.size(); ++k) {
    DTRAIN_CHECK(references[k].size() == hypotheses.size(),
                 "BLEU: reference stream {} has {} lines but there are {} hypotheses", k + 1,
                 references[k].size(), hypotheses.size());
  }
  const auto order = static_cast<size_t>(options.max_ngram_order);
  std::vector<double> correct(order, 0.0), total(order, 0.0);
  int64_t sys_len = 0, ref_len = 0;
  std::vector<std::string> tokenized_references(references.size());
  std::vector<int64_t> reference_lengths(references.size());
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    // Each n-gram's largest count in any reference clips the hypothesis's count.
    NgramCounts reference_ngrams;
    for (size_t k = 0; k < references.size(); ++k) {
      tokenized_references[k] = bleu_preprocess(references[k][i], options);
      for (const auto& [ngram, count] :
           count_ngrams(tokenized_references[k], options.max_ngram_order, reference_lengths[k])) {
        int64_t& largest = reference_ngrams[ngram];
        largest = std::max(largest, count);
      }
    }
    const std::string hypothesis = bleu_preprocess(hypotheses[i], options);
    int64_t hypothesis_length = 0;
    for (const auto& [ngram, count] : count_ngrams(hypothesis, options.max_ngram_order, hypothesis_length)) {
      const size_t n = order_of(ngram) - 1;
      total[n] += static_cast<double>(count);
      if (const auto found = reference_ngrams.find(ngram); found != reference_ngrams.end()) {
        correct[n] += static_cast<double>(std::min(count, found->second));
      }
    }
    sys_len += hypothesis_length;
    ref_len += closest_reference_length(hypothesis_length, reference_lengths);
  }
  return compute_bleu(std::move(correct), std::move(total), sys_len, ref_len, options);
}

std::string bleu_signature(const BleuOptions& options, size_t num_references) {
  std::string smooth = smoothing_name(options.smooth_method);
  if (options.smooth_method == BleuSmoothing::kFloor || options.smooth_method == BleuSmoothing::kAddK) {
    smooth +=
        fmt::format("[{:.2f}]", options.smooth_value.value_or(default_smooth_value(options.smooth_method)));
  }
  return fmt::format("nrefs:{}|case:{}|eff:{}|tok:{}|smooth:{}|version:{}", num_references,
                     options.lowercase ? "lc" : "mixed", options.effective_order ? "yes" : "no",
                     options.tokenize, smooth, kSacrebleuVersion);
}

}  // namespace dtrain::metrics
