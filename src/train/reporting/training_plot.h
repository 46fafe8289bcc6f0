#pragma once
// `dtrain plot`: a run's log.jsonl drawn into a PNG by gnuplot, for people without TensorBoard: the
// training loss (with the evaluation loss) against step, the learning rate against step, and the other
// evaluation metrics against step, one panel each (panels without data are left out).
#include <filesystem>

namespace dtrain::train::reporting {

struct PlotOptions {
  int width = 1000, height = 900;  // pixels
};

// Throws dtrain::Error for a log without training or evaluation entries, a malformed line (with its
// number), or gnuplot missing or failing. The PNG appears only when complete.
void plot_training_curves(const std::filesystem::path& log_jsonl, const std::filesystem::path& png,
                          const PlotOptions& options = {});

}  // namespace dtrain::train::reporting
