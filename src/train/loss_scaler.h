#pragma once
// Dynamic loss scaling for fp16 training, with torch.cuda.amp.GradScaler's rules: the loss is
// multiplied by scale() before backward, gradients by 1/scale() before clipping; a step whose
// gradients overflowed is skipped and the scale halves, and after growth_interval good steps
// in a row the scale doubles.
#include <cstdint>

namespace dtrain::train {

struct LossScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  std::int64_t growth_interval = 2000;
};

// What a checkpoint keeps.
struct LossScalerState {
  double scale = 65536.0;
  std::int64_t good_steps = 0;  // GradScaler's growth tracker
};

class LossScaler {
 public:
  explicit LossScaler(LossScalerOptions options = {});

  double scale() const { return state_.scale; }

  // Records a step's outcome (`found_inf`: some reduced gradient was inf/NaN) and updates the
  // scale. Returns whether the optimizer should take this step.
  bool update(bool found_inf);

  const LossScalerState& state_dict() const { return state_; }
  void load_state_dict(const LossScalerState& state);

 private:
  LossScalerOptions options_;
  LossScalerState state_;
};

}  // namespace dtrain::train
