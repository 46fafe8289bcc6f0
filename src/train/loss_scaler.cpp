#include "train/loss_scaler.h"

#include "common/error.h"

namespace dtrain::train {

LossScaler::LossScaler(LossScalerOptions options) : options_(options), state_{options.init_scale, 0} {
  DTRAIN_CHECK(options.init_scale > 0 && options.growth_factor > 1 && options.backoff_factor > 0 &&
                   options.backoff_factor < 1 && options.growth_interval > 0,
               "loss scaler: need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1 and "
               "growth_interval > 0");
}

bool LossScaler::update(bool found_inf) {
  if (found_inf) {
    state_.scale *= options_.backoff_factor;
    state_.good_steps = 0;
    return false;
  }
  if (++state_.good_steps == options_.growth_interval) {
    state_.scale *= options_.growth_factor;
    state_.good_steps = 0;
  }
  return true;
}

void LossScaler::load_state_dict(const LossScalerState& state) {
  DTRAIN_CHECK(state.scale > 0 && state.good_steps >= 0 && state.good_steps < options_.growth_interval,
               "loss scaler state is invalid (scale {}, good steps {})", state.scale, state.good_steps);
  state_ = state;
}

}  // namespace dtrain::train
