#pragma once
// Corpus chrF (and chrF++ with word n-grams) exactly as sacreBLEU 2.6 computes it
// (sacrebleu.metrics.CHRF): character n-grams over code points with whitespace removed, the best
// reference per segment by its F-score, statistics summed over the corpus, F-beta with beta 2.
#include <string>
#include <vector>

namespace dtrain::metrics {

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;  // 2 is chrF++
  int beta = 2;
  bool lowercase = false;
  bool whitespace = false;  // keep whitespace inside character n-grams
  // chrF++.py/NLTK epsilon smoothing instead of sacreBLEU's effective order.
  bool eps_smoothing = false;

  void validate() const;
};

struct ChrfScore {
  double score = 0;  // 0-100
  int char_order = 6, word_order = 0, beta = 2;

  // "chrF2", "chrF2++" (a "+" per word order).
  std::string name() const;
  // "chrF2 = 55.12", or "chrF2|<signature> = 55.12" (CHRFScore.format).
  std::string format(int width = 2, const std::string& signature = "") const;
};

// `references` holds reference streams, as for corpus_bleu.
ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references,
                      const ChrfOptions& options = {});

// "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0" (CHRFSignature.format()).
std::string chrf_signature(const ChrfOptions& options, size_t num_references);

}  // namespace dtrain::metrics
