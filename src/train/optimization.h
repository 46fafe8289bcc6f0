#pragma once
// Everything between a step's losses and the updated weights: the gradient reducer (gradients
// averaged over ranks at the accumulation boundary, dist/gradient_reducer.h), fp16 loss scaling,
// global-norm clipping, the learning-rate schedule and AdamW, all stepping in lockstep on every rank.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "train/adamw.h"
#include "train/loss_scaler.h"
#include "train/lr_schedule.h"
#include "train/training_arguments.h"

namespace torch::nn {
class Module;
}
namespace dtrain::dist {
class Communicator;
class GradientReducer;
}  // namespace dtrain::dist

namespace dtrain::train {

class Optimization {
 public:
  // Optimizes `module`'s parameters (by their names, for AdamW's decay groups and checkpoints) over
  // a run of total_steps; gradients are averaged over `comm`.
  Optimization(const TrainingArguments& args, torch::nn::Module& module, dist::Communicator& comm,
               const c10::Device& device, int64_t total_steps);
  ~Optimization();
  Optimization(const Optimization&) = delete;
  Optimization& operator=(const Optimization&) = delete;

  // fp16 or bf16 autocast on GPUs, bf16 on CPUs (model::mixed_precision_dtype); nullopt: fp32.
  std::optional<c10::ScalarType> autocast_dtype() const { return autocast_dtype_; }
  // What losses are multiplied by before backward (fp16's dynamic loss scale; 1 otherwise).
  double loss_scale() const { return scaler_ ? scaler_->scale() : 1.0; }
  // Whether the next backward communicates (true for the last micro-batch of a step only).
  void set_sync(bool sync);

  // After the backward of a step's last micro-batch: waits for the averaged gradients. Returns
  // whether they are finite on every rank (the same answer on all ranks).
  bool finish_gradients();
  // Whether losses are scaled (fp16), so that overflowing gradients are the scaler's to handle.
  bool scales_loss() const { return scaler_.has_value(); }
  struct Update {
    bool applied = false;
    double grad_norm = 0;  // before clipping (also without clipping, as Trainer); 0 when skipped
  };
  // Then unscales (fp16), skips the update when `allowed` is false (the run's policy for non-finite
  // steps, NonFiniteSteps) or the gradients are not finite (fp16: when the scaler says so), clips to
  // max_grad_norm, sets the learning rate of update `completed_steps` + 1, steps AdamW and drops the
  // gradients.
  Update update(bool finite, bool allowed, int64_t completed_steps);

  // The learning rate of the update after `completed_steps` updates (Trainer logs it after a step).
  double lr(int64_t completed_steps) const { return schedule_.lr(completed_steps); }

  // For checkpoints.
  AdamWState optimizer_state() const { return optimizer_.state_dict(); }
  std::optional<LossScalerState> scaler_state() const;
  void load_state(const AdamWState& optimizer, const std::optional<LossScalerState>& scaler);

 private:
  double max_grad_norm_;
  std::vector<at::Tensor> parameters_;
  std::unique_ptr<dist::GradientReducer> reducer_;
  AdamW optimizer_;
  LrSchedule schedule_;
  std::optional<LossScaler> scaler_;  // fp16 autocast only
  std::optional<c10::ScalarType> autocast_dtype_;
};

}  // namespace dtrain::train
