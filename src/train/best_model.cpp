#include "train/best_model.h"

#include <cmath>

#include "common/error.h"

namespace dtrain::train {

BestModelPolicy::BestModelPolicy(const TrainingArguments& args)
    : enabled_(args.tracks_best_metric()),
      metric_name_(args.effective_metric_for_best_model()),
      greater_is_better_(args.effective_greater_is_better()),
      patience_(args.early_stopping_patience),
      threshold_(args.early_stopping_threshold) {}

bool BestModelPolicy::record(const nlohmann::json& metrics, const std::string& checkpoint,
                             TrainerState& state) const {
  DTRAIN_CHECK(metrics.contains(metric_name_) && metrics[metric_name_].is_number(),
               "metric_for_best_model: the evaluation has no '{}' (it has {})", metric_name_, metrics.dump());
  const double value = metrics[metric_name_].get<double>();
  const std::optional<double>& best = state.best_metric;
  const bool better = !best || (greater_is_better_ ? value > *best : value < *best);
  if (best && !(better && std::abs(value - *best) > threshold_)) {
    ++state.early_stopping_patience_counter;
  } else {
    state.early_stopping_patience_counter = 0;
  }
  if (better) {
    state.best_metric = value;
    state.best_global_step = state.global_step;
    state.best_model_checkpoint = checkpoint;
  }
  return patience_ && state.early_stopping_patience_counter >= *patience_;
}

}  // namespace dtrain::train
