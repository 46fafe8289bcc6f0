#include "train/trainer.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <optional>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/fault_injection.h"
#include "data/dataset/dataset_reader.h"
#include "data/loading/loader.h"
#include "data/loading/train_sampler.h"
#include "data/tokenizers/tokenizer.h"
#include "dist/communicator.h"
#include "dist/parameter_sync.h"
#include "dist/process_group.h"
#include "dist/rank_activity.h"
#include "dist/rank_agreement.h"
#include "model/device.h"
#include "model/training_flops.h"
#include "tasks/task.h"
#include "tasks/task_registry.h"
#include "train/best_model.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"
#include "train/log_history.h"
#include "train/nonfinite_steps.h"
#include "train/optimization.h"
#include "train/preemption.h"
#include "train/progress.h"
#include "train/reporting/reporters.h"
#include "train/step_timer.h"
#include "train/trainer_state.h"
#include "train/training_schedule.h"

namespace dtrain::train {
namespace fs = std::filesystem;

namespace {

// What identifies the training data in a checkpoint: resuming on other data is refused.
nlohmann::json dataset_identity(const data::DatasetInfo& info) {
  return {{"source_file", info.source_file},
          {"source_sha256", info.source_sha256},
          {"num_samples", info.num_samples}};
}

std::optional<data::DatasetReader> open_if_named(const std::string& file) {
  if (file.empty()) return std::nullopt;
  return data::DatasetReader(file);
}

// One optimizer step's outcome, as all ranks agree on it.
struct StepResult {
  double loss = 0;  // mean over the global batch's loss units
  int64_t tokens = 0;
  model::TrainingFlops flops;   // forward+backward matrix-product FLOPs, all ranks
  double grad_norm = 0;         // before clipping (also without clipping, as Trainer); 0 when skipped
  bool preempted = false;       // some rank received a preemption signal
  bool update_skipped = false;  // non-finite loss or gradients (or an fp16 overflow): no update
};

// What happened since the last log line: one log.jsonl entry's worth of steps.
class LogWindow {
 public:
  // `peak_flops`: the matrix-product peak of all ranks together, which MFU divides by.
  explicit LogWindow(double peak_flops) : peak_flops_(peak_flops) {}
  StepTimer& timer() { return timer_; }
  void add(const StepResult& result, int64_t samples) {
    ++steps_, samples_ += samples, tokens_ += result.tokens, flops_ += result.flops;
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
                            {"tokens_per_second", tokens_ / elapsed}};
    if (flops_.real > 0) {  // tasks that count their FLOPs
      entry["model_flops_per_second"] = flops_.real / elapsed;
      entry["mfu"] = flops_.real / elapsed / peak_flops_;
      entry["padding_flops_share"] = flops_.padded > 0 ? 1 - flops_.real / flops_.padded : 0.0;
    }
    entry["step_seconds"] = timer_.take_means(steps_);
    if (skipped_steps_ > 0) entry["skipped_steps"] = skipped_steps_;
    loss_ = 0, steps_ = 0, finite_steps_ = 0, skipped_steps_ = 0, samples_ = 0, tokens_ = 0, flops_ = {};
    start_ = std::chrono::steady_clock::now();
    return entry;
  }

 private:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  StepTimer timer_;
  double peak_flops_;
  model::TrainingFlops flops_;
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

// The run's parts, built in dependency order: data, the task (model) on this rank's device, the
// data order, the optimization, then (on resume) the checkpoint's state restored into them.
struct Trainer::State {
  RunConfig config;
  const dist::ProcessGroup& group;
  const PreemptionWatch& preemption;
  c10::Device device;
  std::unique_ptr<dist::Communicator> comm;
  data::DatasetReader train_data;
  std::optional<data::DatasetReader> eval_data;
  std::unique_ptr<tasks::Task> task;
  data::BatchGeometry geometry;
  std::unique_ptr<data::TrainSampler> sampler;
  int64_t total_steps = 0;
  std::unique_ptr<Optimization> optimization;
  double peak_flops;  // all ranks' matrix-product peak: MFU's denominator
  TrainingSchedule schedule;
  BestModelPolicy best_model;
  Checkpointer checkpointer;
  TrainerState state;  // global_step, epoch, best metric, ...; its log_history is `history`'s
  data::TrainPosition position;
  LogHistory history;
  NonFiniteSteps nonfinite;  // skips, counts and finally stops on non-finite steps

  State(RunConfig run_config, const dist::ProcessGroup& process_group,
        const PreemptionWatch& preemption_watch)
      : config(std::move(run_config)),
        group(process_group),
        preemption(preemption_watch),
        device(model::select_device(group.local_rank(), group.local_size())),
        comm(dist::make_communicator(group, device)),
        train_data(config.data.train_file),
        eval_data(open_if_named(config.data.eval_file)),
        task(build_task()),
        sampler(build_sampler()),
        total_steps(config.training.max_steps > 0
                        ? config.training.max_steps
                        : static_cast<int64_t>(
                              std::ceil(config.training.num_train_epochs * sampler->steps_per_epoch()))),
        optimization(
            std::make_unique<Optimization>(config.training, task->module(), *comm, device, total_steps)),
        peak_flops(measure_peak_flops()),
        schedule(config.training, total_steps, eval_data.has_value()),
        best_model(config.training),
        checkpointer(group, device, config.training.output_dir, {config.to_yaml(), config.data.tokenizer},
                     config.training.save_total_limit),
        state(initial_state()),
        position(data::initial_position(*sampler)),
        nonfinite(config.training.max_consecutive_nonfinite_steps, config.training.output_dir, is_main()) {
    check_tokenizer();
    const auto& resume_from = config.training.resume_from_checkpoint;
    const bool resumed = resume_from && resume(*resume_from);
    if (is_main()) open_history(resumed);
  }

  bool is_main() const { return group.rank() == 0; }

  // The task for the training data and model_type, on this rank's device, with rank 0's weights.
  std::unique_ptr<tasks::Task> build_task() {
    const TrainingArguments& args = config.training;
    at::manual_seed(static_cast<uint64_t>(args.seed));
    const tasks::TaskSetup setup{{config.model.name_or_path, config.model.config},
                                 train_data,
                                 tasks::Purpose::kTraining,
                                 static_cast<uint64_t>(args.seed),
                                 device,
                                 args.label_smoothing_factor};
    std::unique_ptr<tasks::Task> built = tasks::make_task(setup);
    if (eval_data) built->check_dataset(*eval_data, tasks::DatasetRole::kEvaluation);
    // Every rank starts from rank 0's weights, whatever its initialisation did.
    dist::broadcast_parameters(*comm, built->module().parameters());
    return built;
  }

  std::unique_ptr<data::TrainSampler> build_sampler() {
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
    return std::make_unique<data::TrainSampler>(train_data.num_samples(), geometry.global_batch_size(),
                                                options, std::move(lengths));
  }

  // MFU's denominator: each rank's matrix-product peak in the dtype its products run in, measured by
  // all ranks at once (co-located ranks share the cores as they will in training) and summed; or
  // mfu_peak_flops per rank when configured.
  double measure_peak_flops() const {
    const double configured = config.training.mfu_peak_flops;
    const c10::ScalarType dtype = optimization->autocast_dtype().value_or(at::kFloat);
    const std::vector<double> peaks =
        comm->all_gather({configured > 0 ? configured : model::measure_matmul_peak_flops(device, dtype)});
    const double total = std::accumulate(peaks.begin(), peaks.end(), 0.0);
    if (is_main()) {
      spdlog::info("MFU peak: {:.1f} GFLOP/s over {} rank(s) ({})", total / 1e9, group.size(),
                   configured > 0 ? "mfu_peak_flops" : fmt::format("measured, {}", c10::toString(dtype)));
    }
    return total;
  }

  TrainerState initial_state() const {
    const TrainingArguments& args = config.training;
    TrainerState initial;
    initial.max_steps = total_steps;
    initial.num_train_epochs =
        static_cast<int64_t>(std::ceil(static_cast<double>(total_steps) / sampler->steps_per_epoch()));
    initial.logging_steps = schedule.logging_interval();
    initial.eval_steps = schedule.eval_interval();
    initial.save_steps = schedule.save_interval();
    initial.train_batch_size = args.per_device_train_batch_size;
    initial.early_stopping_patience = args.early_stopping_patience.value_or(0);
    initial.early_stopping_threshold = args.early_stopping_threshold;
    initial.dataset_identity = dataset_identity(train_data.info());
    return initial;
  }

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

  // Restores the checkpoint `resume_from_checkpoint` names; false when it is "latest" and output_dir
  // has no complete checkpoint yet (the job starts from scratch).
  bool resume(const std::string& resume_from_checkpoint) {
    const DataOrder order{config.data.train_file,           state.dataset_identity,
                          geometry.global_batch_size(),     sampler->options().seed,
                          data::initial_position(*sampler), config.training.allow_data_change_on_resume};
    std::optional<ResumePoint> resumed =
        checkpointer.resume(resume_from_checkpoint, order, *task, *optimization);
    if (!resumed) return false;
    // Progress and the best model come from the checkpoint; the settings are this run's.
    state.global_step = resumed->state.global_step;
    state.epoch = resumed->state.epoch;
    state.best_metric = resumed->state.best_metric;
    state.best_global_step = resumed->state.best_global_step;
    state.best_model_checkpoint = resumed->state.best_model_checkpoint;
    state.early_stopping_patience_counter = resumed->state.early_stopping_patience_counter;
    position = resumed->position;
    if (is_main()) history.restore(resumed->state.log_history);
    return true;
  }

  // log.jsonl continues a resumed run: rewritten to the checkpoint's history (dropping lines a
  // preempted run logged after its checkpoint), then appended to.
  void open_history(bool resumed) {
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
                                   resumed ? std::optional<int64_t>(state.global_step) : std::nullopt)) {
      history.add_reporter(std::move(reporter));
    }
  }

  // The trainer state as saved: this run's state with its log history.
  TrainerState snapshot() const {
    TrainerState saved = state;
    saved.log_history = history.entries();
    return saved;
  }

  // ---- the steps of Trainer::train(), in the order it calls them ----

  data::TrainLoader make_loader() const {
    data::LoaderOptions options;
    options.collate = data::collate_options(train_data.info(), config.data.pad_to_multiple_of.value_or(0));
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
    totals.first_step = state.global_step;
    return totals;
  }

  // The loss units of the step's whole global batch (every rank, every micro-batch), which every
  // rank's losses are divided by. Collective.
  double global_loss_units(const data::TrainStep& step) const {
    int64_t local = 0;
    for (const auto& micro : step.micro_batches) local += task->loss_units(micro.batch);
    double global = 0;
    for (const double units : comm->all_gather({static_cast<double>(local)})) global += units;
    DTRAIN_CHECK(global > 0, "step {}: the global batch has no loss units (nothing to learn from)",
                 state.global_step + 1);
    return global;
  }

  // One optimizer step: forward/backward over this rank's micro-batches, gradient sync at the last
  // one, then clip and update. Each micro-batch's summed loss is divided by the step's loss units
  // over all ranks (times the world size the reducer divides by), so the averaged gradient is that of
  // the global batch's mean loss however it is split. The per-step gather of loss and tokens also
  // carries each rank's preemption flag, so agreeing to stop costs no extra collective.
  StepResult train_step(const data::TrainStep& step, StepTimer& timer) {
    task->module().train();
    const double global_units = global_loss_units(step);
    const double scale = optimization->loss_scale() * group.size() / global_units;
    // Summed on the device and read once per step: an item() per micro-batch would make the host
    // wait for the device inside the accumulation loop. Double, as the host sum it replaces.
    at::Tensor local_loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
    double local_tokens = 0;
    model::TrainingFlops local_flops;
    optimization->set_sync(step.micro_batches.empty());  // a rank with no samples still joins the sync
    for (size_t i = 0; i < step.micro_batches.size(); ++i) {
      const data::Batch& micro = step.micro_batches[i].batch;
      optimization->set_sync(i + 1 == step.micro_batches.size());
      dist::RankActivity::process().set_phase(dist::WorkPhase::kForward);
      tasks::BatchLoss loss;
      {
        model::AutocastGuard autocast(device.type(), optimization->autocast_dtype());
        loss = task->loss(micro);
      }
      if (faults::nan_loss(state.global_step + 1))
        loss.sum = loss.sum * std::numeric_limits<double>::quiet_NaN();
      timer.lap(Phase::kForward);
      dist::RankActivity::process().set_phase(dist::WorkPhase::kBackward);
      (loss.sum * scale).backward();
      local_loss_sum.add_(loss.sum.detach().to(at::kDouble));
      local_tokens += static_cast<double>(micro.num_tokens);
      local_flops += task->training_flops(micro);
      timer.lap(Phase::kBackward);
    }
    dist::RankActivity::process().set_phase(dist::WorkPhase::kCommunication);
    const bool finite = optimization->finish_gradients();
    const std::vector<double> totals =
        comm->all_gather({local_loss_sum.item<double>(), local_tokens, preemption.requested() ? 1.0 : 0.0,
                          local_flops.real, local_flops.padded});
    timer.lap(Phase::kCommWait);

    dist::RankActivity::process().set_phase(dist::WorkPhase::kOptimizer);
    double loss_sum = 0, tokens = 0, preempted = 0;
    model::TrainingFlops flops;
    std::vector<double> rank_loss_sums;
    for (size_t r = 0; r < totals.size(); r += 5) {
      loss_sum += totals[r], tokens += totals[r + 1], preempted = std::max(preempted, totals[r + 2]);
      flops += {totals[r + 3], totals[r + 4]};
      rank_loss_sums.push_back(totals[r]);
    }
    // Every rank sees the same losses and gradient vote, so all skip (or all stop) together.
    const bool allowed =
        nonfinite.record(state.global_step + 1, rank_loss_sums, finite || optimization->scales_loss());
    const Optimization::Update update = optimization->update(finite, allowed, state.global_step);
    timer.lap(Phase::kOptimizer);
    return {loss_sum / global_units, static_cast<int64_t>(tokens), flops, update.grad_norm, preempted > 0,
            !update.applied};
  }

  void advance(const data::TrainStep& step, const StepResult& result, RunTotals& totals) {
    ++state.global_step;
    position = step.next_position;
    state.epoch =
        static_cast<double>(step.position.epoch) +
        static_cast<double>(step.step_in_epoch + 1) / static_cast<double>(sampler->steps_per_epoch());
    // As Trainer's logging_nan_inf_filter: a non-finite loss counts as the mean of the steps before.
    const int64_t steps_before = state.global_step - 1 - totals.first_step;
    totals.loss_sum += std::isfinite(result.loss) ? result.loss
                       : steps_before > 0         ? totals.loss_sum / static_cast<double>(steps_before)
                                                  : 0.0;
  }

  // Evaluates on every rank, logs on rank 0, and returns whether early stopping ends the run
  // (rank 0 decides; every rank gets the same answer).
  bool evaluate_and_check_early_stopping() {
    const dist::PhaseScope evaluating(dist::WorkPhase::kEvaluation);
    const TrainingArguments& args = config.training;
    tasks::EvaluationOptions options;
    options.batch_size = args.per_device_eval_batch_size;
    options.task_name = config.data.task_name;
    options.predict_with_generate = args.predict_with_generate;
    options.generation_max_length = args.generation_max_length;
    options.generation_num_beams = args.generation_num_beams;
    options.tokenizer_folder = config.data.tokenizer;
    nlohmann::json metrics;
    {
      // Under the training's autocast, as Trainer evaluates; logits and metrics are fp32.
      model::AutocastGuard autocast(device.type(), optimization->autocast_dtype());
      metrics = task->evaluate(*eval_data, *comm, options);
    }
    metrics["epoch"] = state.epoch;
    metrics["step"] = state.global_step;
    if (is_main()) spdlog::info("evaluation at step {}: {}", state.global_step, metrics.dump());
    history.record(metrics);
    if (!best_model.enabled()) return false;
    const std::string checkpoint = checkpoint_folder(args.output_dir, state.global_step).string();
    const bool stop =
        dist::broadcast_flag(group, is_main() && best_model.record(metrics, checkpoint, state), 0);
    if (stop) {
      spdlog::info("early stopping at step {}: {} did not improve for {} evaluations", state.global_step,
                   best_model.metric_name(), *args.early_stopping_patience);
    }
    return stop;
  }

  void save_checkpoint() {
    const dist::PhaseScope saving(dist::WorkPhase::kCheckpoint);  // the others may wait for rank 0
    checkpointer.save(*task, *optimization, snapshot(), position);
  }

  void report_preemption() const {
    spdlog::warn(
        "preempted at step {} (signal {}{}): checkpoint saved to {}, resume with --resume_from_checkpoint "
        "latest",
        state.global_step, preemption.signal_number(), preemption.requested() ? "" : " on another rank",
        checkpoint_folder(config.training.output_dir, state.global_step).string());
  }

  // The summary log line, then rank 0 writes the final (or best) model as a Hugging Face folder.
  void finish_run(const RunTotals& totals) {
    dist::RankActivity::process().set_phase(dist::WorkPhase::kFinishing);  // rank 0 saves, the others wait
    const TrainingArguments& args = config.training;
    const double runtime =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - totals.start).count();
    const int64_t steps_run = state.global_step - totals.first_step;
    history.record({{"train_runtime", runtime},
                    {"peak_flops", peak_flops},
                    {"train_samples_per_second", steps_run * geometry.global_batch_size() / runtime},
                    {"train_steps_per_second", steps_run / runtime},
                    {"train_loss", totals.loss_sum / std::max<int64_t>(1, steps_run)},
                    {"epoch", state.epoch},
                    {"step", state.global_step}});
    if (is_main()) {
      if (args.load_best_model_at_end && !state.best_model_checkpoint.empty()) {
        spdlog::info("loading the best model from {} ({} {})", state.best_model_checkpoint,
                     best_model.metric_name(), *state.best_metric);
        task->load_weights(state.best_model_checkpoint);
      }
      task->save_pretrained(args.output_dir);
      if (!config.data.tokenizer.empty()) copy_tokenizer_files(config.data.tokenizer, args.output_dir);
      snapshot().save(fs::path(args.output_dir) / "trainer_state.json");
      spdlog::info("saved the final model to {}", args.output_dir);
    }
    dist::wait_for_all_ranks(group);  // no rank exits (and tears MPI down) while rank 0 is still writing
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
  data::TrainLoader loader = s.make_loader();
  ProgressReporter progress(s.total_steps, s.is_main() && !s.config.training.disable_tqdm);
  LogWindow window(s.peak_flops);
  RunTotals totals = s.start_run();

  while (s.state.global_step < s.total_steps) {
    // Where this rank is, for the health monitor's diagnoses; then faults injected for tests.
    dist::RankActivity::process().set_step(s.state.global_step + 1);
    dist::RankActivity::process().set_phase(dist::WorkPhase::kData);
    faults::at(faults::Point::kStepStart, s.state.global_step + 1);
    window.timer().restart();
    const data::TrainStep step = loader.next();
    window.timer().lap(Phase::kData);
    const StepResult result = s.train_step(step, window.timer());  // forward, backward, sync, update
    s.advance(step, result, totals);
    const int64_t global_step = s.state.global_step;
    const double lr = s.optimization->lr(global_step - 1);  // the rate this step used, as Trainer 5 logs
    window.add(result, step.global_samples);
    progress.update(global_step, result.loss, lr, window.samples_per_second());

    const bool epoch_ended = step.next_position.epoch != step.position.epoch;
    if (s.schedule.logging_due(global_step, epoch_ended)) {
      s.history.record(window.take_entry(lr, s.state.epoch, global_step));
    }
    const bool stop_early =
        s.schedule.evaluation_due(global_step, epoch_ended) && s.evaluate_and_check_early_stopping();
    if (s.schedule.save_due(global_step, epoch_ended) || result.preempted) s.save_checkpoint();
    if (result.preempted) return s.report_preemption();
    if (stop_early) break;
  }
  s.finish_run(totals);
}

}  // namespace dtrain::train
