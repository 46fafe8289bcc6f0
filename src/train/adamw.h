#pragma once
// AdamW with torch.optim.AdamW's arithmetic (decoupled weight decay, bias correction, eps added
// after the square root of the bias-corrected second moment) and the Hugging Face Trainer's
// defaults and parameter grouping. Implemented here, not via torch::optim, so that the maths, the
// defaults and the checkpoint state are the same on every LibTorch version.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dtrain::train {

// TrainingArguments' defaults, spelled out.
struct AdamWOptions {
  double lr = 5e-5;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

struct NamedParameter {
  std::string name;  // e.g. "encoder.layer.0.attention.output.LayerNorm.weight"
  at::Tensor tensor;
};

// The Trainer's grouping rule: weight decay applies to every parameter except biases and
// LayerNorm weights, recognised by name ("bias", "LayerNorm", "layer_norm", any case).
bool uses_weight_decay(const std::string& name);

// Per-parameter optimizer state, keyed by parameter name in AdamWState (for checkpoints).
struct AdamWParameterState {
  std::int64_t step = 0;
  at::Tensor exp_avg;
  at::Tensor exp_avg_sq;
};
using AdamWState = std::map<std::string, AdamWParameterState>;

class AdamW {
 public:
  AdamW(std::vector<NamedParameter> parameters, AdamWOptions options = {});

  // The learning rate of the next step (the LR schedule sets it before every step).
  void set_lr(double lr) { options_.lr = lr; }
  double lr() const { return options_.lr; }

  // One update of every parameter that has a gradient; those without one are left alone and
  // their step count does not advance (as torch does for grad None).
  void step();
  // Drops every gradient (set_to_none, as the Trainer does).
  void zero_grad();

  // The state tensors are shared with the optimizer, not copied: save them before the next step.
  AdamWState state_dict() const;
  // Copies `state` in; every name must be a parameter of this optimizer with matching shapes.
  void load_state_dict(const AdamWState& state);

 private:
  struct Entry {
    NamedParameter parameter;
    double weight_decay;
    AdamWParameterState state;
  };
  std::vector<Entry> entries_;
  AdamWOptions options_;
};

}  // namespace dtrain::train
