#pragma once
// The policy for optimizer steps whose loss or gradients are not finite (NaN or inf) on some
// rank. Every rank decides from the same all-gathered losses and the reducer's finiteness vote,
// so all skip together: the update is not applied (the weights and optimizer state stay as they
// were), the skip is logged and counted, and `limit` such steps in a row stop the run with an
// error that says where. A run that has diverged, or data with bad values, then ends at once
// instead of training on NaN until its allocation runs out; no checkpoint ever holds weights
// updated with a non-finite value.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace dtrain::train {

class NonFiniteSteps {
 public:
  // `limit`: consecutive non-finite steps that stop the run (max_consecutive_nonfinite_steps);
  // `report`: whether this rank logs the skips (rank 0).
  NonFiniteSteps(std::int64_t limit, std::filesystem::path output_dir, bool report);

  // After step `step`'s reductions: each rank's loss sum (rank order) and whether the averaged
  // gradients are finite on every rank (pass true where a loss scaler handles overflowing
  // gradients itself). Returns whether the update may be applied; throws dtrain::Error on the
  // `limit`-th non-finite step in a row.
  bool record(std::int64_t step, const std::vector<double>& rank_loss_sums, bool gradients_finite);

  std::int64_t consecutive() const { return consecutive_; }

 private:
  std::int64_t limit_;
  std::filesystem::path output_dir_;
  bool report_;
  std::int64_t consecutive_ = 0;
};

}  // namespace dtrain::train
