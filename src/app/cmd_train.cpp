// `dtrain train --config X.yaml [--key value ...]`: data-parallel fine-tuning on every rank of the job.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/distributed_command.h"
#include "common/fault_injection.h"
#include "common/logging.h"
#include "dist/health_monitor.h"
#include "dist/process_group.h"
#include "train/elastic_resume.h"
#include "train/preemption.h"
#include "train/run_config.h"
#include "train/trainer.h"

namespace dtrain::app {
namespace {

struct TrainOptions {
  std::string config;
  std::vector<std::string> overrides;
};

const RegisterCommand kTrain([](CLI::App& app) -> std::function<void()> {
  auto* sub = app.add_subcommand(
      "train",
      "Fine-tune a model (run under mpirun/srun for several ranks). Any configuration key can be overridden: "
      "--learning_rate 1e-4 (training keys), --model.name_or_path DIR, --data.train_file FILE");
  auto options = std::make_shared<TrainOptions>();
  sub->add_option("--config", options->config, "YAML file with model, data and training sections");
  sub->allow_extras();
  return [options, sub] {
    options->overrides = sub->remaining();
    // From before MPI starts until the process ends, SIGTERM/SIGUSR1 only ask the trainer to stop.
    const train::PreemptionWatch preemption;
    run_distributed([&](const dist::ProcessGroup& group) {
      // Parsed on every rank: each reports the same error for a bad key, and no rank waits for another.
      train::RunConfig config = train::RunConfig::load(options->config, options->overrides);
      configure_logging(group.rank(), group.size(), config.training.log_level,
                        config.training.log_level_replica);
      faults::arm(group.rank());
      // Watches every rank from before the first collective until after the last.
      const dist::HealthMonitor monitor(group,
                                        {config.training.heartbeat_timeout, config.training.ddp_timeout});
      const std::string adapted = train::keep_checkpoint_global_batch(config.training, group.size());
      if (!adapted.empty() && group.rank() == 0) spdlog::warn("{}", adapted);
      train::Trainer(std::move(config), group, preemption).train();
    });
  };
});

}  // namespace
}  // namespace dtrain::app
