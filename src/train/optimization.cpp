#include "train/optimization.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/nn/module.h>

#include "dist/gradient_reducer.h"
#include "model/device.h"
#include "train/grad_clip.h"

namespace dtrain::train {
namespace {

std::vector<NamedParameter> named_parameters(torch::nn::Module& module) {
  std::vector<NamedParameter> named;
  for (const auto& item : module.named_parameters()) named.push_back({item.key(), item.value()});
  return named;
}

AdamWOptions adamw_options(const TrainingArguments& args) {
  return {args.learning_rate, args.adam_beta1, args.adam_beta2, args.adam_epsilon, args.weight_decay};
}

ScheduleOptions schedule_options(const TrainingArguments& args, int64_t total_steps) {
  ScheduleOptions options;
  options.kind = parse_schedule_kind(args.lr_scheduler_type);
  options.total_steps = total_steps;
  options.warmup_steps = resolve_warmup_steps(args.warmup_steps, args.warmup_ratio, total_steps);
  return options;
}

dist::ReducerOptions reducer_options(const TrainingArguments& args) {
  dist::ReducerOptions options;
  options.bucket_cap_mb = static_cast<double>(args.bucket_cap_bytes()) / (1024.0 * 1024.0);
  options.fp16_all_reduce = args.ddp_allreduce_dtype == "fp16";
  return options;
}

}  // namespace

Optimization::Optimization(const TrainingArguments& args, torch::nn::Module& module, dist::Communicator& comm,
                           const c10::Device& device, int64_t total_steps)
    : max_grad_norm_(args.max_grad_norm),
      parameters_(module.parameters()),
      reducer_(std::make_unique<dist::GradientReducer>(parameters_, comm, reducer_options(args))),
      optimizer_(named_parameters(module), adamw_options(args)),
      schedule_(schedule_options(args, total_steps), args.learning_rate) {
  autocast_dtype_ = model::mixed_precision_dtype(device, args.fp16, args.bf16);
  if (autocast_dtype_ == at::kHalf) scaler_.emplace();
}

Optimization::~Optimization() = default;

void Optimization::set_sync(bool sync) {
  reducer_->set_sync(sync);
}

bool Optimization::finish_gradients() {
  return reducer_->finish();
}

Optimization::Update Optimization::update(bool finite, bool allowed, int64_t completed_steps) {
  Update result;
  result.applied = allowed && (finite || scaler_);
  if (scaler_) {
    const double loss_scale = scaler_->scale();
    // The scaler sees every step's overflow vote, also that of a step the policy skips.
    result.applied = scaler_->update(!finite) && result.applied;
    if (result.applied) {
      at::NoGradGuard no_grad;
      for (auto& parameter : parameters_) parameter.mutable_grad().div_(loss_scale);
    }
  }
  if (result.applied) {
    // Trainer logs the norm before clipping, also when it does not clip.
    result.grad_norm =
        max_grad_norm_ > 0 ? clip_grad_norm(parameters_, max_grad_norm_) : train::grad_norm(parameters_);
    optimizer_.set_lr(schedule_.lr(completed_steps));
    optimizer_.step();
  }
  optimizer_.zero_grad();
  return result;
}

std::optional<LossScalerState> Optimization::scaler_state() const {
  return scaler_ ? std::optional<LossScalerState>(scaler_->state_dict()) : std::nullopt;
}

void Optimization::load_state(const AdamWState& optimizer, const std::optional<LossScalerState>& scaler) {
  optimizer_.load_state_dict(optimizer);
  if (scaler_ && scaler) scaler_->load_state_dict(*scaler);
}

}  // namespace dtrain::train
