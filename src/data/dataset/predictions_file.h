#pragma once
// The output of `dtrain predict`: an HDF5 file with /logits, float32 [num_samples, num_labels] in
// dataset order, and /labels copied from the dataset (int64 class ids or float32 targets), so that
// metrics can be computed from the one file.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace dtrain::data {

struct PredictionsTable {
  int64_t num_labels = 0;
  std::vector<float> logits;             // row-major [num_samples, num_labels]
  std::vector<int64_t> class_labels;     // classification datasets
  std::vector<float> regression_labels;  // regression datasets
  int64_t num_samples() const {
    return num_labels > 0 ? static_cast<int64_t>(logits.size()) / num_labels : 0;
  }
};

// Writes `table` to `path` atomically (a failed write leaves no file behind).
void write_predictions(const std::filesystem::path& path, const PredictionsTable& table);

}  // namespace dtrain::data
