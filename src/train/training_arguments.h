#pragma once
// Hugging Face TrainingArguments, under the same names and with the same defaults, so a Trainer
// user's settings carry over unchanged. Only fields dtrain acts on are accepted; an unknown key is an
// error rather than silently ignored.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dtrain::train {

struct TrainingArguments {
  std::string output_dir;
  bool overwrite_output_dir = false;

  // Batching and length of training.
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;
  bool dataloader_drop_last = false;
  bool group_by_length = false;

  // Optimizer (AdamW) and schedule.
  double learning_rate = 5e-5;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;
  std::string lr_scheduler_type = "linear";
  double warmup_ratio = 0.0;
  double warmup_steps = 0;  // >= 1: steps; in (0, 1): a fraction of the run (transformers 5)

  // Precision and communication.
  bool fp16 = false;
  bool bf16 = false;
  std::optional<int64_t> ddp_bucket_cap_mb;  // unset: 25, as DDP
  std::string ddp_allreduce_dtype = "fp16";  // dtrain: "fp16" or "fp32"
  // dtrain: the matrix-product peak of one rank in FLOP/s, which log.jsonl's mfu divides by; 0
  // measures it at start-up (a large matrix product in the dtype the model computes in).
  double mfu_peak_flops = 0;

  // Failure detection (dist/health_monitor.h). ddp_timeout: seconds a collective may wait for a
  // rank that makes no progress, as Trainer's (which bounds the process group's collectives).
  // dtrain: a rank silent for heartbeat_timeout seconds (stopped, frozen, unreachable) ends the job.
  double ddp_timeout = 1800;
  double heartbeat_timeout = 30;
  // dtrain: this many optimizer steps in a row with a non-finite loss or gradients stop the run
  // (each one's update is skipped).
  int64_t max_consecutive_nonfinite_steps = 10;

  // Logging, evaluation, checkpoints.
  // Where the log goes besides log.jsonl: "tensorboard", "all" (= tensorboard) or "none" (Trainer's
  // default in transformers 5); a single name or a list.
  std::vector<std::string> report_to{"none"};
  // TensorBoard's folder; unset: $TENSORBOARD_LOGGING_DIR, else output_dir/runs/<date>_<host> (Trainer's).
  std::optional<std::string> logging_dir;
  std::string logging_strategy = "steps";
  double logging_steps = 500;
  bool logging_first_step = false;
  std::string log_level = "passive";
  std::string log_level_replica = "warning";
  bool disable_tqdm = false;
  std::string eval_strategy = "no";
  std::optional<double> eval_steps;  // unset: logging_steps
  std::string save_strategy = "steps";
  double save_steps = 500;
  std::optional<int64_t> save_total_limit;
  bool load_best_model_at_end = false;
  std::optional<std::string> metric_for_best_model;
  std::optional<bool> greater_is_better;
  std::optional<std::string> resume_from_checkpoint;  // a checkpoint folder, or "latest"
  // dtrain: resuming with another global batch size or dataset is an error unless this is true (the
  // data order then restarts within the checkpoint's epoch, and samples may repeat or be skipped).
  bool allow_data_change_on_resume = false;
  // dtrain: resuming on another number of ranks, choose gradient_accumulation_steps (or else
  // per_device_train_batch_size) so that the global batch is the checkpoint's (launch/mpirun.sh
  // --min-ranks sets it when it relaunches on fewer ranks).
  bool keep_global_batch_on_resume = false;
  // EarlyStoppingCallback's arguments (unset patience: no early stopping).
  std::optional<int64_t> early_stopping_patience;
  double early_stopping_threshold = 0.0;

  // Seq2SeqTrainingArguments (translation; other tasks ignore them): evaluation generates with
  // generate() and reports eval_bleu and eval_gen_len; the overrides of the model's generation config
  // (unset: the model's max_length / num_beams). label_smoothing_factor: Trainer's LabelSmoother.
  bool predict_with_generate = false;
  std::optional<int64_t> generation_max_length;
  std::optional<int64_t> generation_num_beams;
  double label_smoothing_factor = 0.0;

  // Reproducibility.
  int64_t seed = 42;
  std::optional<int64_t> data_seed;  // unset: seed

  // Checks value ranges and combinations; throws dtrain::Error naming the key.
  void validate() const;

  int64_t bucket_cap_bytes() const { return ddp_bucket_cap_mb.value_or(25) * 1024 * 1024; }
  int64_t effective_data_seed() const { return data_seed.value_or(seed); }
  // Whether evaluations are compared to find the best checkpoint.
  bool tracks_best_metric() const {
    return load_best_model_at_end || metric_for_best_model.has_value() || early_stopping_patience.has_value();
  }
  // Trainer's defaults: "loss" when the best model is tracked; always with the "eval_" prefix.
  std::string effective_metric_for_best_model() const;
  // Trainer's default: false for metrics ending in "loss", true otherwise.
  bool effective_greater_is_better() const;
};

}  // namespace dtrain::train
