#pragma once
// The metrics a translation fine-tune reports, under the names the Hugging Face course and
// run_translation.py's compute_metrics give them: "bleu" (sacreBLEU's corpus score with its
// defaults, one reference per prediction) and "gen_len" (mean generated length in tokens), each
// rounded to 4 decimals as there.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dtrain::metrics {

// Mean count of token ids per prediction that are neither `pad_id` nor -100 (the label padding
// run_translation.py turns into pad ids before counting).
double mean_generated_length(const std::vector<std::vector<int64_t>>& prediction_ids, int64_t pad_id);

// {"bleu": ..., "gen_len": ...}; the caller adds the "eval_" prefix as the Trainer does.
// `prediction_ids` are the generated ids per prediction (padding allowed).
nlohmann::json translation_metrics(const std::vector<std::string>& predictions,
                                   const std::vector<std::string>& references,
                                   const std::vector<std::vector<int64_t>>& prediction_ids, int64_t pad_id);

// round(value, digits) as compute_metrics rounds each: Python's (correctly rounded decimal digits)
// for "bleu", a Python float; numpy's (scale, round half to even, unscale) for "gen_len", an
// np.float64. They differ for a few percent of values.
double python_round(double value, int digits);
double numpy_round(double value, int digits);

}  // namespace dtrain::metrics
