#pragma once
// Corpus BLEU exactly as sacreBLEU 2.6 computes it (sacrebleu.metrics.BLEU): the same tokenization,
// n-gram clipping against one or more references, closest reference length, brevity penalty and
// smoothing, and the same signature and score line. Scores equal the sacrebleu package's to
// floating-point rounding (under test on its own test vectors and on whole files).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dtrain::metrics {

// The sacreBLEU version whose behaviour (and signature) this reproduces.
inline constexpr const char* kSacrebleuVersion = "2.6.0";

enum class BleuSmoothing { kNone, kFloor, kAddK, kExp };

struct BleuOptions {
  bool lowercase = false;
  std::string tokenize = "13a";  // "13a" or "none"
  BleuSmoothing smooth_method = BleuSmoothing::kExp;
  std::optional<double> smooth_value;  // floor: 0.1, add-k: 1 when unset
  int max_ngram_order = 4;
  // Stop at the highest n-gram order the hypotheses have (sentence-level BLEU).
  bool effective_order = false;

  // Throws dtrain::Error for an unknown tokenizer or an order below 1.
  void validate() const;
};

// What sacrebleu's BLEUScore holds. counts/totals are the matched and hypothesis n-grams per order
// (add-k smoothing adds its value to orders above 1, as sacrebleu does).
struct BleuScore {
  double score = 0;  // 0-100
  std::vector<double> counts, totals, precisions;
  double bp = 0;
  int64_t sys_len = 0, ref_len = 0;

  double ratio() const { return ref_len ? static_cast<double>(sys_len) / static_cast<double>(ref_len) : 0.0; }
  // What the score line shows after the score: "66.2/41.3/25.0/16.1 (BP = 1.000 ratio = 1.016 hyp_len = 12345
  // ref_len = 12150)".
  std::string verbose() const;
  // "BLEU = 35.12 66.2/41.3/25.0/16.1 (BP = 1.000 ratio = 1.016 hyp_len = 12345 ref_len = 12150)", with
  // "BLEU|<signature> = ..." when a signature is given (BLEUScore.format).
  std::string format(int width = 2, const std::string& signature = "") const;
};

// `references` holds reference streams (sacrebleu's layout): references[k][i] is the k-th reference
// of hypothesis i. Every stream must have one line per hypothesis. Text must be valid UTF-8.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references,
                      const BleuOptions& options = {});

// "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0" (BLEUSignature.format()).
std::string bleu_signature(const BleuOptions& options, size_t num_references);

// The BLEU tokenizer `options` selects, lower-casing included (BLEU._preprocess_segment).
std::string bleu_preprocess(const std::string& segment, const BleuOptions& options);

}  // namespace dtrain::metrics
