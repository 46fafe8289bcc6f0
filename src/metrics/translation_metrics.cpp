#include "metrics/translation_metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "common/error.h"
#include "metrics/bleu.h"

namespace dtrain::metrics {

double mean_generated_length(const std::vector<std::vector<int64_t>>& prediction_ids, int64_t pad_id) {
  DTRAIN_CHECK(!prediction_ids.empty(), "gen_len: no predictions");
  constexpr int64_t kLabelPadding = -100;
  double total = 0;
  for (const auto& ids : prediction_ids) {
    for (const int64_t id : ids) total += id != pad_id && id != kLabelPadding ? 1 : 0;
  }
  return total / static_cast<double>(prediction_ids.size());
}

double python_round(double value, int digits) {
  // Correctly rounded decimal digits (ties to even on the exact binary value), read back: what
  // CPython's float rounding does.
  return std::strtod(fmt::format("{:.{}f}", value, digits).c_str(), nullptr);
}

double numpy_round(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::nearbyint(value * scale) / scale;  // the default rounding mode: to nearest, ties to even
}

nlohmann::json translation_metrics(const std::vector<std::string>& predictions,
                                   const std::vector<std::string>& references,
                                   const std::vector<std::vector<int64_t>>& prediction_ids, int64_t pad_id) {
  const BleuScore bleu = corpus_bleu(predictions, {references});
  return {{"bleu", python_round(bleu.score, 4)},
          {"gen_len", numpy_round(mean_generated_length(prediction_ids, pad_id), 4)}};
}

}  // namespace dtrain::metrics
