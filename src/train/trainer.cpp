#include "train/trainer.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/fault_injection.h"
#include "data/dataset/dataset_reader.h"
#include "data/loading/loader.h"
#include "data/loading/train_sampler.h"
#include "data/tokenizers/tokenizer.h"
#include "dist/communicator.h"
#include "dist/gradient_reducer.h"
#include "dist/parameter_sync.h"
#include "dist/process_group.h"
#include "dist/rank_activity.h"
#include "model/bert/bert_model.h"
#include "model/dataset_fit.h"
#include "model/hf/hf_checkpoint.h"
#include "train/adamw.h"
#include "train/batch_tensors.h"
#include "train/checkpoint.h"
#include "train/device.h"
#include "train/evaluation.h"
#include "train/grad_clip.h"
#include "train/log_history.h"
#include "train/loss_scaler.h"
#include "train/lr_schedule.h"
#include "train/nonfinite_steps.h"
#include "train/preemption.h"
#include "train/progress.h"
#include "train/rank_agreement.h"
#include "train/reporting/reporters.h"
#include "train/rng_state.h"
#include "train/step_timer.h"

namespace dtrain::train {
namespace fs = std::filesystem;

namespace {

// Trainer's "steps" settings accept a fraction of the run below 1.
int64_t resolve_interval(double steps, int64_t total_steps) {
  return steps < 1 ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(steps * total_steps)))
                   : static_cast<int64_t>(steps);
}

model::BertConfig model_config(const RunConfig& config, const data::DatasetInfo& dataset) {
  model::BertConfig bert = config.model.name_or_path.empty()
                               ? model::BertConfig::from_json(config.model.config, "model.config")
                               : model::read_hf_config(config.model.name_or_path);
  // The dataset decides the labels, as `num_labels=`/`id2label=` do in from_pretrained.
  if (dataset.task == data::TaskType::regression)
    bert.set_num_labels(1);
  else if (!dataset.label_names.empty())
    bert.set_labels(dataset.label_names);
  else
    bert.set_num_labels(dataset.num_labels);
  return bert;
}

// What identifies the training data in a checkpoint: resuming on other data is refused.
nlohmann::json dataset_identity(const data::DatasetInfo& info) {
  return {{"source_file", info.source_file},
          {"source_sha256", info.source_sha256},
          {"num_samples", info.num_samples}};
}

// One optimizer step's outcome, as all ranks agree on it.
struct StepResult {
  double loss = 0;  // mean over the global batch
  int64_t tokens = 0;
  double grad_norm = 0;         // before clipping; 0 when max_grad_norm is off or the step was skipped
  bool preempted = false;       // some rank received a preemption signal
  bool update_skipped = false;  // non-finite loss or gradients (or an fp16 overflow): no update
};

// What happened since the last log line: one log.jsonl entry's worth of steps.
class LogWindow {
 public:
  StepTimer& timer() { return timer_; }
  void add(const StepResult& result, int64_t samples) {
    ++steps_, samples_ += samples, tokens_ += result.tokens;
    // As Trainer's logging_nan_inf_filter: a non-finite loss is left out of the window's mean.
    if (std::isfinite(result.loss)) loss_ += result.loss, ++finite_steps_;
    if (result.update_skipped) ++skipped_steps_;
    if (result.grad_norm > 0) grad_norm_ = result.grad_norm;
  }
  double samples_per_second() const { return samples_ / std::max(seconds(), 1e-9); }
  // The entry Trainer logs (loss averaged over the window), then starts a new window.
  nlohmann::json take_entry(double learning_rate, double epoch, int64_t step) {
    const double elapsed = seconds();
    nlohmann::json entry = {{"loss", loss_ / static_cast<double>(finite_steps_)},
                            {"grad_norm", grad_norm_},
                            {"learning_rate", learning_rate},
                            {"epoch", epoch},
                            {"step", step},
                            {"samples_per_second", samples_ / elapsed},
                            {"tokens_per_second", tokens_ / elapsed},
                            {"step_seconds", timer_.take_means(steps_)}};
    if (skipped_steps_ > 0) entry["skipped_steps"] = skipped_steps_;
    loss_ = 0, steps_ = 0, finite_steps_ = 0, skipped_steps_ = 0, samples_ = 0, tokens_ = 0;
    start_ = std::chrono::steady_clock::now();
    return entry;
  }

 private:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  StepTimer timer_;
  double loss_ = 0, grad_norm_ = 0;
  int64_t steps_ = 0, finite_steps_ = 0, skipped_steps_ = 0, samples_ = 0, tokens_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// How often, in optimizer steps, the run logs, evaluates and saves.
struct Intervals {
  int64_t logging, eval, save;
};

// This process's part of the run (a resumed run counts from its checkpoint), for the summary line.
struct RunTotals {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  int64_t first_step = 0;
  double loss_sum = 0;
};

}  // namespace

struct Trainer::State {
  RunConfig config;
  const dist::ProcessGroup& group;
  c10::Device device;
  std::unique_ptr<dist::Communicator> comm;
  data::DatasetReader train_data;
  std::optional<data::DatasetReader> eval_data;
  model::BertForSequenceClassification model{nullptr};
  std::vector<at::Tensor> parameters;
  data::BatchGeometry geometry;
  std::unique_ptr<data::TrainSampler> sampler;
  std::unique_ptr<dist::GradientReducer> reducer;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  std::optional<LossScaler> scaler;  // fp16 on CUDA only
  std::optional<c10::ScalarType> autocast_dtype;
  LogHistory history;
  int64_t total_steps = 0;
  int64_t global_step = 0;
  data::TrainPosition position;
  double epoch = 0;  // fractional, as Trainer's state.epoch
  const PreemptionWatch& preemption;
  // Rank 0's view of evaluations: the best value of metric_for_best_model, where it was saved,
  // and EarlyStoppingCallback's counter.
  std::optional<double> best_metric;
  std::string best_model_checkpoint;
  int64_t early_stopping_counter = 0;
  std::optional<NonFiniteSteps> nonfinite;  // skips, counts and finally stops on non-finite steps

  State(RunConfig run_config, const dist::ProcessGroup& process_group,
        const PreemptionWatch& preemption_watch)
      : config(std::move(run_config)),
        group(process_group),
        device(select_device(group.local_rank(), group.local_size())),
        comm(dist::make_communicator(group, device)),
        train_data(config.data.train_file),
        preemption(preemption_watch) {
    const TrainingArguments& args = config.training;
    if (!config.data.eval_file.empty()) eval_data.emplace(config.data.eval_file);
    build_model();
    build_data_order();
    build_optimizer();
    check_tokenizer();
    const bool resumed = args.resume_from_checkpoint && resume(*args.resume_from_checkpoint);
    if (is_main()) history_open(resumed);
    nonfinite.emplace(args.max_consecutive_nonfinite_steps, args.output_dir, is_main());
  }

  bool is_main() const { return group.rank() == 0; }

  void check_tokenizer() const {
    if (config.data.tokenizer.empty()) return;
    std::unique_ptr<data::Tokenizer> tokenizer;
    try {
      tokenizer = data::load_tokenizer(config.data.tokenizer);
    } catch (const Error& e) {
      DTRAIN_FAIL("data.tokenizer: {}", e.what());
    }
    const std::string& prepared_with = train_data.info().vocab_sha256;
    DTRAIN_CHECK(prepared_with.empty() || tokenizer->vocab_sha256() == prepared_with,
                 "data.tokenizer: {} has another vocabulary (sha256 {}) than {} was prepared with ({})",
                 config.data.tokenizer, tokenizer->vocab_sha256(), config.data.train_file, prepared_with);
  }

  // Restores everything from the checkpoint `resume_from_checkpoint` names; false when it is
  // "latest" and output_dir has no complete checkpoint yet (the job starts from scratch).
  bool resume(const std::string& resume_from_checkpoint) {
    const TrainingArguments& args = config.training;
    std::string folder;
    if (is_main()) {
      const dist::PhaseScope verifying(dist::WorkPhase::kCheckpoint);  // checksums: the others wait
      folder =
          resolve_resume_checkpoint(args.output_dir, resume_from_checkpoint).value_or(fs::path()).string();
      if (folder.empty())
        spdlog::info("no complete checkpoint in {} yet: starting from scratch", args.output_dir);
    }
    folder = broadcast_string(group.world(), folder, 0);
    if (folder.empty()) return false;

    TrainerSnapshot snapshot = read_checkpoint(folder, *model);
    const nlohmann::json& state = snapshot.trainer_state;
    const nlohmann::json saved_dataset = state.value("dtrain_dataset", nlohmann::json());
    const bool same_data = saved_dataset == dataset_identity(train_data.info()) &&
                           snapshot.position.global_batch_size == geometry.global_batch_size() &&
                           snapshot.position.seed == sampler->options().seed;
    if (!same_data) {
      DTRAIN_CHECK(
          args.allow_data_change_on_resume,
          "resume_from_checkpoint: {} was trained on {} with global batch {} and data_seed {}; this run "
          "trains on {} {} with global batch {} and data_seed {} (set allow_data_change_on_resume: true to "
          "resume anyway)",
          folder, saved_dataset.dump(), snapshot.position.global_batch_size, snapshot.position.seed,
          config.data.train_file, dataset_identity(train_data.info()).dump(), geometry.global_batch_size(),
          sampler->options().seed);
      spdlog::warn("resuming {} on other data or another global batch: the data order restarts at epoch {}",
                   folder, snapshot.position.epoch);
      const int64_t saved_epoch = snapshot.position.epoch;
      snapshot.position = data::initial_position(*sampler);
      snapshot.position.epoch = saved_epoch;
    }
    optimizer->load_state_dict(snapshot.optimizer);
    if (scaler && snapshot.scaler) scaler->load_state_dict(*snapshot.scaler);
    const auto& rng = snapshot.rng_states;
    const bool same_generators =
        restore_rng_state(rng[static_cast<size_t>(group.rank()) % rng.size()], device);
    if (static_cast<int>(rng.size()) != group.size() || !same_generators) {
      spdlog::warn(
          "{} was saved by {} ranks{} and this job has {}: dropout draws differ from an uninterrupted run",
          folder, rng.size(), same_generators ? "" : " on another kind of device", group.size());
    }
    global_step = snapshot.global_step;
    position = snapshot.position;
    epoch = state.value("epoch", 0.0);
    if (const nlohmann::json best = state.value("best_metric", nlohmann::json()); best.is_number()) {
      best_metric = best.get<double>();
    }
    if (const nlohmann::json best = state.value("best_model_checkpoint", nlohmann::json());
        best.is_string()) {
      best_model_checkpoint = best.get<std::string>();
    }
    early_stopping_counter = state.value("stateful_callbacks", nlohmann::json::object())
                                 .value("EarlyStoppingCallback", nlohmann::json::object())
                                 .value("attributes", nlohmann::json::object())
                                 .value("early_stopping_patience_counter", int64_t{0});
    if (is_main()) {
      history.restore(state.value("log_history", nlohmann::json::array()));
      spdlog::info("resumed from {} at step {}", folder, global_step);
    }
    return true;
  }

  // log.jsonl continues a resumed run: rewritten to the checkpoint's history (dropping lines a
  // preempted run logged after its checkpoint), then appended to.
  void history_open(bool resumed) {
    const fs::path path = fs::path(config.training.output_dir) / "log.jsonl";
    if (resumed) {
      std::string lines;
      for (const auto& entry : history.entries()) lines += entry.dump() + "\n";
      write_text_atomically(path, lines);
    }
    nlohmann::json restored = history.entries();
    history = LogHistory(path, /*append=*/resumed);
    history.restore(std::move(restored));
    for (auto& reporter :
         reporting::make_reporters(config.training, train_data.num_samples(),
                                   resumed ? std::optional<int64_t>(global_step) : std::nullopt)) {
      history.add_reporter(std::move(reporter));
    }
  }

  // Trainer's trainer_state.json (the keys transformers writes), plus what dtrain checks on resume.
  nlohmann::json trainer_state(const Intervals& every) const {
    const TrainingArguments& args = config.training;
    const auto epochs =
        static_cast<int64_t>(std::ceil(static_cast<double>(total_steps) / sampler->steps_per_epoch()));
    return {{"best_metric", best_metric ? nlohmann::json(*best_metric) : nlohmann::json()},
            {"best_model_checkpoint",
             best_model_checkpoint.empty() ? nlohmann::json() : nlohmann::json(best_model_checkpoint)},
            {"epoch", epoch},
            {"eval_steps", every.eval},
            {"global_step", global_step},
            {"is_hyper_param_search", false},
            {"is_local_process_zero", true},
            {"is_world_process_zero", true},
            {"log_history", history.entries()},
            {"logging_steps", every.logging},
            {"max_steps", total_steps},
            {"num_input_tokens_seen", 0},
            {"num_train_epochs", epochs},
            {"save_steps", every.save},
            {"stateful_callbacks",
             {{"EarlyStoppingCallback",
               {{"args",
                 {{"early_stopping_patience", args.early_stopping_patience.value_or(0)},
                  {"early_stopping_threshold", args.early_stopping_threshold}}},
                {"attributes", {{"early_stopping_patience_counter", early_stopping_counter}}}}}}},
            {"total_flos", 0},
            {"train_batch_size", args.per_device_train_batch_size},
            {"trial_name", nullptr},
            {"trial_params", nullptr},
            {"dtrain_dataset", dataset_identity(train_data.info())}};
  }

  // Collective: every rank contributes its RNG state, rank 0 writes output_dir/checkpoint-<step>
  // and rotates old ones while the others wait without spinning.
  void save_checkpoint(const nlohmann::json& state) {
    const dist::PhaseScope saving(dist::WorkPhase::kCheckpoint);  // the others may wait for rank 0
    const TrainingArguments& args = config.training;
    TrainerSnapshot snapshot;
    snapshot.rng_states = gather_rng_states(group.world(), 0, device);
    if (is_main()) {
      snapshot.global_step = global_step;
      snapshot.optimizer = optimizer->state_dict();
      if (scaler) snapshot.scaler = scaler->state_dict();
      snapshot.position = position;
      snapshot.trainer_state = state;
      const fs::path folder =
          write_checkpoint(args.output_dir, *model, snapshot, {config.to_yaml(), config.data.tokenizer});
      spdlog::info("saved checkpoint {}", folder.string());
      if (args.save_total_limit) {
        for (const auto& deleted :
             rotate_checkpoints(args.output_dir, *args.save_total_limit, best_model_checkpoint)) {
          spdlog::info("deleted checkpoint {} (save_total_limit {})", deleted.string(),
                       *args.save_total_limit);
        }
      }
    }
    wait_for_all_ranks(group.world());
  }

  // Rank 0, after an evaluation: EarlyStoppingCallback's counter (against the best so far), then
  // the best metric and the checkpoint of this step. Returns whether training should stop early.
  bool track_best(const nlohmann::json& metrics) {
    const TrainingArguments& args = config.training;
    const std::string name = args.effective_metric_for_best_model();
    DTRAIN_CHECK(metrics.contains(name) && metrics[name].is_number(),
                 "metric_for_best_model: the evaluation has no '{}' (it has {})", name, metrics.dump());
    const double value = metrics[name].get<double>();
    const bool greater = args.effective_greater_is_better();
    const bool better = !best_metric || (greater ? value > *best_metric : value < *best_metric);
    if (best_metric && !(better && std::abs(value - *best_metric) > args.early_stopping_threshold)) {
      ++early_stopping_counter;
    } else {
      early_stopping_counter = 0;
    }
    if (better) {
      best_metric = value;
      best_model_checkpoint = checkpoint_folder(args.output_dir, global_step).string();
    }
    return args.early_stopping_patience && early_stopping_counter >= *args.early_stopping_patience;
  }

  void build_model() {
    const TrainingArguments& args = config.training;
    const model::BertConfig bert = model_config(config, train_data.info());
    const fs::path source =
        config.model.name_or_path.empty() ? fs::path("model.config") : fs::path(config.model.name_or_path);
    model::check_dataset_fits_model(train_data, bert, source);
    if (eval_data) model::check_dataset_fits_model(*eval_data, bert, source);
    at::manual_seed(static_cast<uint64_t>(args.seed));
    model = model::BertForSequenceClassification(bert, static_cast<uint64_t>(args.seed));
    if (!config.model.name_or_path.empty()) {
      model::load_hf_weights(*model, model::kBertForSequenceClassification, config.model.name_or_path);
    }
    model->to(device);
    for (const auto& parameter : model->parameters()) parameters.push_back(parameter);
    // Every rank starts from rank 0's weights, whatever its initialisation did.
    dist::broadcast_parameters(*comm, parameters);
  }

  void build_data_order() {
    const TrainingArguments& args = config.training;
    geometry = {args.per_device_train_batch_size, args.gradient_accumulation_steps, group.size()};
    geometry.validate();
    data::SamplerOptions options;
    options.seed = static_cast<uint64_t>(args.effective_data_seed());
    options.drop_last = args.dataloader_drop_last;
    options.group_by_length = args.group_by_length;
    std::vector<int64_t> lengths;
    if (args.group_by_length) {
      for (int64_t i = 0; i < train_data.num_samples(); ++i) lengths.push_back(train_data.sample_length(i));
    }
    sampler = std::make_unique<data::TrainSampler>(train_data.num_samples(), geometry.global_batch_size(),
                                                   options, std::move(lengths));
    total_steps = args.max_steps > 0
                      ? args.max_steps
                      : static_cast<int64_t>(std::ceil(args.num_train_epochs * sampler->steps_per_epoch()));
    position = data::initial_position(*sampler);
  }

  void build_optimizer() {
    const TrainingArguments& args = config.training;
    dist::ReducerOptions reducer_options;
    reducer_options.bucket_cap_mb = static_cast<double>(args.bucket_cap_bytes()) / (1024.0 * 1024.0);
    reducer_options.fp16_all_reduce = args.ddp_allreduce_dtype == "fp16";
    reducer = std::make_unique<dist::GradientReducer>(parameters, *comm, reducer_options);

    std::vector<NamedParameter> named;
    for (const auto& item : model->named_parameters()) named.push_back({item.key(), item.value()});
    AdamWOptions adam{args.learning_rate, args.adam_beta1, args.adam_beta2, args.adam_epsilon,
                      args.weight_decay};
    optimizer = std::make_unique<AdamW>(std::move(named), adam);

    ScheduleOptions schedule_options;
    schedule_options.kind = parse_schedule_kind(args.lr_scheduler_type);
    schedule_options.total_steps = total_steps;
    schedule_options.warmup_steps = resolve_warmup_steps(args.warmup_steps, args.warmup_ratio, total_steps);
    schedule = std::make_unique<LrSchedule>(schedule_options, args.learning_rate);

    if (device.is_cuda() && (args.fp16 || args.bf16)) {
      autocast_dtype = args.fp16 ? at::kHalf : at::kBFloat16;
      if (args.fp16) scaler.emplace();
    } else if (args.fp16 || args.bf16) {
      spdlog::warn(
          "fp16/bf16 compute needs a GPU: computing in fp32 on the CPU (gradients are still "
          "all-reduced in {})",
          args.ddp_allreduce_dtype);
    }
  }

  // ---- the steps of Trainer::train(), in the order it calls them ----

  Intervals intervals() const {
    const TrainingArguments& args = config.training;
    return {resolve_interval(args.logging_steps, total_steps),
            resolve_interval(args.eval_steps.value_or(args.logging_steps), total_steps),
            resolve_interval(args.save_steps, total_steps)};
  }

  data::TrainLoader make_loader() const {
    data::LoaderOptions options;
    options.collate.pad_id = train_data.info().pad_id;
    options.collate.pad_to_multiple_of = config.data.pad_to_multiple_of.value_or(0);
    return data::TrainLoader(train_data, *sampler, geometry, group.rank(), position, options);
  }

  RunTotals start_run() const {
    const TrainingArguments& args = config.training;
    spdlog::info(
        "training: {} samples, {} steps ({} per epoch), global batch {} = {} per device x {} ranks x {} "
        "accumulation, device {}",
        train_data.num_samples(), total_steps, sampler->steps_per_epoch(), geometry.global_batch_size(),
        args.per_device_train_batch_size, group.size(), args.gradient_accumulation_steps, device.str());
    RunTotals totals;
    totals.first_step = global_step;
    return totals;
  }

  void advance(const data::TrainStep& step, const StepResult& result, RunTotals& totals) {
    ++global_step;
    position = step.next_position;
    epoch = static_cast<double>(step.position.epoch) +
            static_cast<double>(step.step_in_epoch + 1) / static_cast<double>(sampler->steps_per_epoch());
    // As Trainer's logging_nan_inf_filter: a non-finite loss counts as the mean of the steps before.
    const int64_t steps_before = global_step - 1 - totals.first_step;
    totals.loss_sum += std::isfinite(result.loss) ? result.loss
                       : steps_before > 0         ? totals.loss_sum / static_cast<double>(steps_before)
                                                  : 0.0;
  }

  bool logging_due(const Intervals& every) const {
    const TrainingArguments& args = config.training;
    return args.logging_strategy == "steps" &&
           (global_step % every.logging == 0 || (args.logging_first_step && global_step == 1));
  }

  bool evaluation_due(const Intervals& every, bool epoch_ended) const {
    const TrainingArguments& args = config.training;
    return eval_data && ((args.eval_strategy == "steps" && global_step % every.eval == 0) ||
                         (args.eval_strategy == "epoch" && epoch_ended));
  }

  bool save_due(const Intervals& every, bool epoch_ended) const {
    const TrainingArguments& args = config.training;
    return (args.save_strategy == "steps" && global_step % every.save == 0) ||
           (args.save_strategy == "epoch" && epoch_ended);
  }

  // Evaluates on every rank, logs on rank 0, and returns whether early stopping ends the run
  // (rank 0 decides; every rank gets the same answer).
  bool evaluate_and_check_early_stopping() {
    const dist::PhaseScope evaluating(dist::WorkPhase::kEvaluation);
    const TrainingArguments& args = config.training;
    auto metrics =
        evaluate(*model, *eval_data, *comm, args.per_device_eval_batch_size, config.data.task_name);
    metrics["epoch"] = epoch;
    metrics["step"] = global_step;
    if (is_main()) spdlog::info("evaluation at step {}: {}", global_step, metrics.dump());
    history.record(metrics);
    if (!args.tracks_best_metric()) return false;
    const bool stop = broadcast_flag(group.world(), is_main() && track_best(metrics), 0);
    if (stop) {
      spdlog::info("early stopping at step {}: {} did not improve for {} evaluations", global_step,
                   args.effective_metric_for_best_model(), *args.early_stopping_patience);
    }
    return stop;
  }

  void report_preemption() const {
    spdlog::warn(
        "preempted at step {} (signal {}{}): checkpoint saved to {}, resume with --resume_from_checkpoint "
        "latest",
        global_step, preemption.signal_number(), preemption.requested() ? "" : " on another rank",
        checkpoint_folder(config.training.output_dir, global_step).string());
  }

  // The summary log line, then rank 0 writes the final (or best) model as a Hugging Face folder.
  void finish_run(const RunTotals& totals, const Intervals& every) {
    dist::RankActivity::process().set_phase(dist::WorkPhase::kFinishing);  // rank 0 saves, the others wait
    const TrainingArguments& args = config.training;
    const double runtime =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - totals.start).count();
    const int64_t steps_run = global_step - totals.first_step;
    history.record({{"train_runtime", runtime},
                    {"train_samples_per_second", steps_run * geometry.global_batch_size() / runtime},
                    {"train_steps_per_second", steps_run / runtime},
                    {"train_loss", totals.loss_sum / std::max<int64_t>(1, steps_run)},
                    {"epoch", epoch},
                    {"step", global_step}});
    if (is_main()) {
      if (args.load_best_model_at_end && !best_model_checkpoint.empty()) {
        spdlog::info("loading the best model from {} ({} {})", best_model_checkpoint,
                     args.effective_metric_for_best_model(), *best_metric);
        model::load_hf_weights(*model, model::kBertForSequenceClassification, best_model_checkpoint);
      }
      model::save_hf_checkpoint(*model, args.output_dir);
      if (!config.data.tokenizer.empty()) copy_tokenizer_files(config.data.tokenizer, args.output_dir);
      write_text_atomically(fs::path(args.output_dir) / "trainer_state.json",
                            trainer_state(every).dump(2) + "\n");
      spdlog::info("saved the final model to {}", args.output_dir);
    }
    wait_for_all_ranks(group.world());  // no rank exits (and tears MPI down) while rank 0 is still writing
  }

  // One optimizer step: forward/backward over this rank's micro-batches, gradient sync at the last
  // one, then clip and update. The per-step gather of loss and tokens also carries each rank's
  // preemption flag, so agreeing to stop costs no extra collective.
  StepResult train_step(const data::TrainStep& step, StepTimer& timer) {
    const TrainingArguments& args = config.training;
    model->train();
    const double loss_scale = scaler ? scaler->scale() : 1.0;
    // Summed on the device and read once per step: an item() per micro-batch would make the host
    // wait for the device inside the accumulation loop. Double, as the host sum it replaces.
    at::Tensor local_loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
    double local_tokens = 0;
    reducer->set_sync(step.micro_batches.empty());  // a rank with no samples still joins the sync
    for (size_t i = 0; i < step.micro_batches.size(); ++i) {
      const data::Batch& micro = step.micro_batches[i].batch;
      reducer->set_sync(i + 1 == step.micro_batches.size());
      const BatchTensors batch = to_tensors(micro, device);
      dist::RankActivity::process().set_phase(dist::WorkPhase::kForward);
      at::Tensor loss;
      {
        AutocastGuard autocast(autocast_dtype);
        loss =
            *model->forward(batch.input_ids, batch.attention_mask, batch.token_type_ids, batch.labels).loss;
      }
      if (faults::nan_loss(global_step + 1)) loss = loss * std::numeric_limits<double>::quiet_NaN();
      timer.lap(Phase::kForward);
      dist::RankActivity::process().set_phase(dist::WorkPhase::kBackward);
      // Each micro-batch's mean loss weighted by its share of the global batch (times the world
      // size the reducer divides by): the averaged gradient is that of the global batch's mean loss,
      // however the batch is split over ranks and micro-batches.
      const double weight = static_cast<double>(micro.batch_size) * group.size() / step.global_samples;
      (loss * (weight * loss_scale)).backward();
      local_loss_sum.add_(loss.detach().to(at::kDouble) * static_cast<double>(micro.batch_size));
      local_tokens += static_cast<double>(micro.num_tokens);
      timer.lap(Phase::kBackward);
    }
    dist::RankActivity::process().set_phase(dist::WorkPhase::kCommunication);
    const bool finite = reducer->finish();
    const std::vector<double> totals =
        comm->all_gather({local_loss_sum.item<double>(), local_tokens, preemption.requested() ? 1.0 : 0.0});
    timer.lap(Phase::kCommWait);

    dist::RankActivity::process().set_phase(dist::WorkPhase::kOptimizer);
    double loss_sum = 0, tokens = 0, preempted = 0;
    std::vector<double> rank_loss_sums;
    for (size_t r = 0; r < totals.size(); r += 3) {
      loss_sum += totals[r], tokens += totals[r + 1], preempted = std::max(preempted, totals[r + 2]);
      rank_loss_sums.push_back(totals[r]);
    }
    // Every rank sees the same losses and gradient vote, so all skip (or all stop) together.
    bool take_step = nonfinite->record(global_step + 1, rank_loss_sums, finite || scaler.has_value());
    if (scaler) {
      take_step = scaler->update(!finite) && take_step;
      if (take_step) {
        at::NoGradGuard no_grad;
        for (auto& parameter : parameters) parameter.mutable_grad().div_(loss_scale);
      }
    }
    double grad_norm = 0;
    if (take_step) {
      if (args.max_grad_norm > 0) grad_norm = clip_grad_norm(parameters, args.max_grad_norm);
      optimizer->set_lr(schedule->lr(global_step));
      optimizer->step();
    }
    optimizer->zero_grad();
    timer.lap(Phase::kOptimizer);
    return {loss_sum / static_cast<double>(step.global_samples), static_cast<int64_t>(tokens), grad_norm,
            preempted > 0, !take_step};
  }
};

Trainer::Trainer(RunConfig config, const dist::ProcessGroup& group, const PreemptionWatch& preemption) {
  const TrainingArguments& args = config.training;
  if (group.rank() == 0) {
    const dist::PhaseScope checking(dist::WorkPhase::kCheckpoint);  // checksums: the others wait
    // A new run would rotate away the checkpoints of the run that is there (as run_glue.py refuses).
    const auto previous =
        args.resume_from_checkpoint ? std::nullopt : latest_complete_checkpoint(args.output_dir);
    DTRAIN_CHECK(!previous || args.overwrite_output_dir,
                 "output_dir {} already holds checkpoints of a run ({}): continue it with "
                 "--resume_from_checkpoint latest, or start over with --overwrite_output_dir true",
                 args.output_dir, previous ? previous->filename().string() : "");
    fs::create_directories(args.output_dir);
    const std::string resolved = config.to_yaml();
    spdlog::info("configuration:\n{}", resolved);
    std::ofstream(fs::path(args.output_dir) / "training_config.yaml") << resolved;
    for (const auto& removed : remove_unfinished_saves(args.output_dir)) {
      spdlog::warn("removed {}, left by a save that was interrupted", removed.string());
    }
  }
  group.barrier();  // output_dir exists before any rank needs it
  state_ = std::make_unique<State>(std::move(config), group, preemption);
}

Trainer::~Trainer() = default;

void Trainer::train() {
  State& s = *state_;
  const Intervals every = s.intervals();
  data::TrainLoader loader = s.make_loader();
  ProgressReporter progress(s.total_steps, s.is_main() && !s.config.training.disable_tqdm);
  LogWindow window;
  RunTotals totals = s.start_run();

  while (s.global_step < s.total_steps) {
    // Where this rank is, for the health monitor's diagnoses; then faults injected for tests.
    dist::RankActivity::process().set_step(s.global_step + 1);
    dist::RankActivity::process().set_phase(dist::WorkPhase::kData);
    faults::at(faults::Point::kStepStart, s.global_step + 1);
    window.timer().restart();
    const data::TrainStep step = loader.next();
    window.timer().lap(Phase::kData);
    const StepResult result = s.train_step(step, window.timer());  // forward, backward, sync, update
    s.advance(step, result, totals);
    window.add(result, step.global_samples);
    progress.update(s.global_step, result.loss, s.schedule->lr(s.global_step), window.samples_per_second());

    if (s.logging_due(every)) {
      s.history.record(window.take_entry(s.schedule->lr(s.global_step), s.epoch, s.global_step));
    }
    const bool epoch_ended = step.next_position.epoch != step.position.epoch;
    const bool stop_early = s.evaluation_due(every, epoch_ended) && s.evaluate_and_check_early_stopping();
    if (s.save_due(every, epoch_ended) || result.preempted) s.save_checkpoint(s.trainer_state(every));
    if (result.preempted) return s.report_preemption();
    if (stop_early) break;
  }
  s.finish_run(totals, every);
}

}  // namespace dtrain::train
