#include "metrics/chrf.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "common/error.h"
#include "metrics/bleu.h"
#include "metrics/python_text.h"

namespace dtrain::metrics {
namespace {

using Counter = std::unordered_map<std::string_view, int64_t>;

// string.punctuation, which chrF++ splits off the start or end of a word.
bool is_ascii_punctuation(char32_t code) {
  return (code >= '!' && code <= '/') || (code >= ':' && code <= '@') || (code >= '[' && code <= '`') ||
         (code >= '{' && code <= '~');
}

// One segment's n-gram counts per order (character orders first, then word orders), as views into
// the segment's own text.
class SegmentNgrams {
 public:
  SegmentNgrams(const std::string& segment, const ChrfOptions& options) {
    characters_ = options.whitespace ? segment : without_whitespace(segment);
    std::vector<size_t> starts;  // byte offset of every code point, and the end
    for (size_t pos = 0; pos < characters_.size(); ++pos) {
      if ((static_cast<unsigned char>(characters_[pos]) & 0xC0) != 0x80) starts.push_back(pos);
    }
    starts.push_back(characters_.size());
    const size_t length = starts.size() - 1;
    for (size_t n = 1; n <= static_cast<size_t>(options.char_order); ++n) {
      Counter& counter = orders_.emplace_back();
      for (size_t i = 0; i + n <= length; ++i) {
        ++counter[std::string_view(characters_).substr(starts[i], starts[i + n] - starts[i])];
      }
    }
    if (options.word_order > 0) {
      words_ = words_with_punctuation_split(segment);
      const std::vector<std::string_view> words = python_split(words_);
      for (size_t n = 1; n <= static_cast<size_t>(options.word_order); ++n) {
        Counter& counter = orders_.emplace_back();
        for (size_t i = 0; i + n <= words.size(); ++i) {
          const char* end = words[i + n - 1].data() + words[i + n - 1].size();
          ++counter[std::string_view(words[i].data(), static_cast<size_t>(end - words[i].data()))];
        }
      }
    }
    for (const Counter& counter : orders_) {
      int64_t sum = 0;
      for (const auto& entry : counter) sum += entry.second;
      sizes_.push_back(sum);
    }
  }
  SegmentNgrams(const SegmentNgrams&) = delete;  // the counters point into this object's strings
  SegmentNgrams& operator=(const SegmentNgrams&) = delete;

  const std::vector<Counter>& orders() const { return orders_; }
  int64_t size(size_t order) const { return sizes_[order]; }

 private:
  static std::string without_whitespace(const std::string& text) {
    std::string joined;
    for (const std::string_view word : python_split(text)) joined.append(word);
    return joined;
  }

  // CHRF._remove_punctuation: a word of two or more characters loses a trailing punctuation mark,
  // or else a leading one, which becomes a word of its own. The words are joined by spaces.
  static std::string words_with_punctuation_split(const std::string& text) {
    std::string joined;
    const auto add = [&joined](std::string_view word) {
      if (!joined.empty()) joined.push_back(' ');
      joined.append(word);
    };
    for (const std::string_view word : python_split(text)) {
      const std::u32string codes = decode_utf8(word);
      if (codes.size() > 1 && is_ascii_punctuation(codes.back())) {
        add(word.substr(0, word.size() - 1)), add(word.substr(word.size() - 1));
      } else if (codes.size() > 1 && is_ascii_punctuation(codes.front())) {
        add(word.substr(0, 1)), add(word.substr(1));
      } else {
        add(word);
      }
    }
    return joined;
  }

  std::string characters_, words_;
  std::vector<Counter> orders_;
  std::vector<int64_t> sizes_;
};

// CHRF._compute_f_score over [hypothesis, reference, match] counts per order.
double f_score(const std::vector<int64_t>& statistics, const ChrfOptions& options) {
  constexpr double kEps = 1e-16;
  const size_t orders = static_cast<size_t>(options.char_order + options.word_order);
  const double factor = static_cast<double>(options.beta) * options.beta;
  double score = 0.0, average_precision = 0.0, average_recall = 0.0;
  int effective_order = 0;
  for (size_t i = 0; i < orders; ++i) {
    const int64_t hyp = statistics[3 * i], ref = statistics[3 * i + 1], match = statistics[3 * i + 2];
    const double precision = hyp > 0 ? static_cast<double>(match) / static_cast<double>(hyp) : kEps;
    const double recall = ref > 0 ? static_cast<double>(match) / static_cast<double>(ref) : kEps;
    const double denominator = factor * precision + recall;
    score += denominator > 0 ? (1 + factor) * precision * recall / denominator : kEps;
    if (hyp > 0 && ref > 0) {
      average_precision += precision, average_recall += recall;
      ++effective_order;
    }
  }
  if (options.eps_smoothing) return 100 * score / static_cast<double>(orders);
  if (effective_order == 0) {
    average_precision = average_recall = 0.0;
  } else {
    average_precision /= effective_order;
    average_recall /= effective_order;
  }
  if (average_precision + average_recall == 0) return 0.0;
  score = (1 + factor) * average_precision * average_recall;
  score /= (factor * average_precision) + average_recall;
  return 100 * score;
}

// [hypothesis n-grams (0 when the reference has none), reference n-grams, clipped matches] per order.
std::vector<int64_t> match_statistics(const SegmentNgrams& hypothesis, const SegmentNgrams& reference) {
  std::vector<int64_t> statistics;
  for (size_t order = 0; order < hypothesis.orders().size(); ++order) {
    const Counter& ref = reference.orders()[order];
    int64_t matched = 0;
    for (const auto& [ngram, count] : hypothesis.orders()[order]) {
      if (const auto found = ref.find(ngram); found != ref.end()) matched += std::min(count, found->second);
    }
    statistics.push_back(ref.empty() ? 0 : hypothesis.size(order));
    statistics.push_back(reference.size(order));
    statistics.push_back(matched);
  }
  return statistics;
}

}  // namespace

void ChrfOptions::validate() const {
  DTRAIN_CHECK(char_order >= 0 && word_order >= 0 && char_order + word_order > 0,
               "chrF: char_order ({}) and word_order ({}) must be >= 0, one of them > 0", char_order,
               word_order);
  DTRAIN_CHECK(beta >= 0, "chrF: beta must be >= 0, got {}", beta);
}

std::string ChrfScore::name() const {
  return fmt::format("chrF{}{}", beta, std::string(word_order, '+'));
}

std::string ChrfScore::format(int width, const std::string& signature) const {
  return fmt::format("{}{}{} = {:.{}f}", name(), signature.empty() ? "" : "|", signature, score, width);
}

ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references, const ChrfOptions& options) {
  options.validate();
  DTRAIN_CHECK(!hypotheses.empty(), "chrF: no hypotheses");
  DTRAIN_CHECK(!references.empty(), "chrF: no references");
  for (size_t k = 0; k < references.size(); ++k) {
    DTRAIN_CHECK(references[k].size() == hypotheses.size(),
                 "chrF: reference stream {} has {} lines but there are {} hypotheses", k + 1,
                 references[k].size(), hypotheses.size());
  }
  const auto prepare = [&options](const std::string& segment) {
    return options.lowercase ? python_lower(segment) : segment;
  };
  const size_t orders = static_cast<size_t>(options.char_order + options.word_order);
  std::vector<int64_t> corpus(3 * orders, 0);
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const SegmentNgrams hypothesis(prepare(hypotheses[i]), options);
    // The reference with the best F-score (the first of equals) gives the segment's statistics.
    std::vector<int64_t> best;
    double best_score = -1.0;
    for (const auto& stream : references) {
      const SegmentNgrams reference(prepare(stream[i]), options);
      std::vector<int64_t> statistics = match_statistics(hypothesis, reference);
      const double score = f_score(statistics, options);
      if (score > best_score) best_score = score, best = std::move(statistics);
    }
    for (size_t j = 0; j < corpus.size(); ++j) corpus[j] += best[j];
  }
  return {f_score(corpus, options), options.char_order, options.word_order, options.beta};
}

std::string chrf_signature(const ChrfOptions& options, size_t num_references) {
  return fmt::format("nrefs:{}|case:{}|eff:{}|nc:{}|nw:{}|space:{}|version:{}", num_references,
                     options.lowercase ? "lc" : "mixed", options.eps_smoothing ? "no" : "yes",
                     options.char_order, options.word_order, options.whitespace ? "yes" : "no",
                     kSacrebleuVersion);
}

}  // namespace dtrain::metrics
