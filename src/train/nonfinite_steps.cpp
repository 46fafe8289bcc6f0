#include "train/nonfinite_steps.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <string>

#include "common/error.h"

namespace dtrain::train {

NonFiniteSteps::NonFiniteSteps(std::int64_t limit, std::filesystem::path output_dir, bool report)
    : limit_(limit), output_dir_(std::move(output_dir)), report_(report) {}

bool NonFiniteSteps::record(std::int64_t step, const std::vector<double>& rank_loss_sums,
                            bool gradients_finite) {
  std::vector<int> ranks_with_nonfinite_loss;
  for (std::size_t rank = 0; rank < rank_loss_sums.size(); ++rank) {
    if (!std::isfinite(rank_loss_sums[rank])) ranks_with_nonfinite_loss.push_back(static_cast<int>(rank));
  }
  if (ranks_with_nonfinite_loss.empty() && gradients_finite) {
    consecutive_ = 0;
    return true;
  }
  ++consecutive_;
  const std::string what =
      !ranks_with_nonfinite_loss.empty()
          ? fmt::format("non-finite loss on rank{} {}", ranks_with_nonfinite_loss.size() > 1 ? "s" : "",
                        fmt::join(ranks_with_nonfinite_loss, ", "))
          : std::string("non-finite gradients");
  DTRAIN_CHECK(
      consecutive_ < limit_,
      "step {}: {} steps in a row ({} to {}) had a non-finite loss or gradients (the last: {}; "
      "max_consecutive_nonfinite_steps {}): the model diverged or the data holds bad values. No update "
      "with a non-finite value was applied, so the checkpoints in {} hold finite weights: lower the "
      "learning rate or check the data, then resume with --resume_from_checkpoint latest",
      step, consecutive_, step - consecutive_ + 1, step, what, limit_, output_dir_.string());
  if (report_) {
    spdlog::warn(
        "step {}: {}; update skipped on every rank ({} in a row; max_consecutive_nonfinite_steps {})", step,
        what, consecutive_, limit_);
  }
  return false;
}

}  // namespace dtrain::train
