#include "train/training_arguments.h"

#include <cmath>
#include <initializer_list>

#include "common/error.h"

namespace dtrain::train {
namespace {

void check_choice(const char* key, const std::string& value, std::initializer_list<const char*> choices) {
  std::string listed;
  for (const char* choice : choices) {
    if (value == choice) return;
    listed += (listed.empty() ? "" : ", ") + std::string(choice);
  }
  DTRAIN_FAIL("config: training.{}: '{}' is not one of {}", key, value, listed);
}

}  // namespace

void TrainingArguments::validate() const {
  DTRAIN_CHECK(!output_dir.empty(), "config: training.output_dir is required");
  DTRAIN_CHECK(per_device_train_batch_size > 0, "config: training.per_device_train_batch_size must be > 0");
  DTRAIN_CHECK(per_device_eval_batch_size > 0, "config: training.per_device_eval_batch_size must be > 0");
  DTRAIN_CHECK(gradient_accumulation_steps > 0, "config: training.gradient_accumulation_steps must be > 0");
  DTRAIN_CHECK(max_steps > 0 || num_train_epochs > 0,
               "config: training: set num_train_epochs > 0 or max_steps > 0");
  DTRAIN_CHECK(learning_rate >= 0, "config: training.learning_rate must be >= 0");
  DTRAIN_CHECK(weight_decay >= 0, "config: training.weight_decay must be >= 0");
  DTRAIN_CHECK(adam_beta1 >= 0 && adam_beta1 < 1, "config: training.adam_beta1 must be in [0, 1)");
  DTRAIN_CHECK(adam_beta2 >= 0 && adam_beta2 < 1, "config: training.adam_beta2 must be in [0, 1)");
  DTRAIN_CHECK(adam_epsilon >= 0, "config: training.adam_epsilon must be >= 0");
  DTRAIN_CHECK(warmup_ratio >= 0 && warmup_ratio <= 1, "config: training.warmup_ratio must be in [0, 1]");
  DTRAIN_CHECK(warmup_steps >= 0, "config: training.warmup_steps must be >= 0");
  DTRAIN_CHECK(mfu_peak_flops >= 0, "config: training.mfu_peak_flops must be >= 0 (0: measured)");
  check_choice("lr_scheduler_type", lr_scheduler_type,
               {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                "inverse_sqrt"});
  DTRAIN_CHECK(!(fp16 && bf16), "config: training: fp16 and bf16 cannot both be true");
  DTRAIN_CHECK(!ddp_bucket_cap_mb || *ddp_bucket_cap_mb > 0,
               "config: training.ddp_bucket_cap_mb must be > 0");
  check_choice("ddp_allreduce_dtype", ddp_allreduce_dtype, {"fp16", "fp32"});
  for (const auto& name : report_to) {
    DTRAIN_CHECK(name == "tensorboard" || name == "all" || name == "none",
                 "config: training.report_to: '{}' is not supported by dtrain (tensorboard, all or none)",
                 name);
    DTRAIN_CHECK(report_to.size() == 1 || (name != "all" && name != "none"),
                 "config: training.report_to: '{}' cannot be combined with other names", name);
  }
  DTRAIN_CHECK(!logging_dir || !logging_dir->empty(), "config: training.logging_dir must not be empty");
  DTRAIN_CHECK(ddp_timeout > 0, "config: training.ddp_timeout must be > 0 seconds");
  DTRAIN_CHECK(heartbeat_timeout > 0, "config: training.heartbeat_timeout must be > 0 seconds");
  DTRAIN_CHECK(max_consecutive_nonfinite_steps > 0,
               "config: training.max_consecutive_nonfinite_steps must be > 0");
  check_choice("logging_strategy", logging_strategy, {"no", "steps", "epoch"});
  check_choice("eval_strategy", eval_strategy, {"no", "steps", "epoch"});
  check_choice("save_strategy", save_strategy, {"no", "steps", "epoch"});
  check_choice("log_level", log_level, {"passive", "debug", "info", "warning", "error", "critical"});
  check_choice("log_level_replica", log_level_replica,
               {"passive", "debug", "info", "warning", "error", "critical"});
  DTRAIN_CHECK(logging_steps > 0, "config: training.logging_steps must be > 0");
  DTRAIN_CHECK(!eval_steps || *eval_steps > 0, "config: training.eval_steps must be > 0");
  DTRAIN_CHECK(save_steps > 0, "config: training.save_steps must be > 0");
  DTRAIN_CHECK(!save_total_limit || *save_total_limit > 0, "config: training.save_total_limit must be > 0");
  DTRAIN_CHECK(!early_stopping_patience || *early_stopping_patience > 0,
               "config: training.early_stopping_patience must be > 0");
  DTRAIN_CHECK(early_stopping_threshold >= 0, "config: training.early_stopping_threshold must be >= 0");
  DTRAIN_CHECK(label_smoothing_factor >= 0 && label_smoothing_factor < 1,
               "config: training.label_smoothing_factor must be in [0, 1), got {}", label_smoothing_factor);
  DTRAIN_CHECK(!generation_max_length || *generation_max_length >= 2,
               "config: training.generation_max_length must be >= 2 (the decoder start and one token)");
  DTRAIN_CHECK(!generation_num_beams || *generation_num_beams >= 1,
               "config: training.generation_num_beams must be >= 1");
  DTRAIN_CHECK(!early_stopping_patience || eval_strategy != "no",
               "config: training.early_stopping_patience needs evaluations (eval_strategy steps or epoch)");
  // Trainer's rule: the best model can only be tracked if checkpoints line up with evaluations.
  if (load_best_model_at_end) {
    DTRAIN_CHECK(
        eval_strategy != "no" && eval_strategy == save_strategy,
        "config: training.load_best_model_at_end needs eval_strategy == save_strategy (not 'no'), got "
        "eval_strategy '{}' and save_strategy '{}'",
        eval_strategy, save_strategy);
    const double every_eval = eval_steps.value_or(logging_steps);
    if (save_strategy == "steps" && save_steps >= 1 && every_eval >= 1) {
      DTRAIN_CHECK(
          std::fmod(save_steps, every_eval) == 0,
          "config: training.load_best_model_at_end needs save_steps ({}) to be a multiple of eval_steps ({})",
          save_steps, every_eval);
    }
  }
}

std::string TrainingArguments::effective_metric_for_best_model() const {
  const std::string name = metric_for_best_model.value_or("loss");
  return name.rfind("eval_", 0) == 0 ? name : "eval_" + name;
}

bool TrainingArguments::effective_greater_is_better() const {
  if (greater_is_better) return *greater_is_better;
  const std::string name = effective_metric_for_best_model();
  return !(name.size() >= 4 && name.compare(name.size() - 4, 4, "loss") == 0);
}

}  // namespace dtrain::train
