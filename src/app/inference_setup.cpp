#include "app/inference_setup.h"

#include "common/logging.h"
#include "dist/rank_activity.h"
#include "model/device.h"
#include "tasks/task_registry.h"

namespace dtrain::app {

InferenceSetup prepare_inference(const dist::ProcessGroup& group, const std::string& model_folder,
                                 const data::DatasetReader& dataset, tasks::DatasetRole role,
                                 const dist::HealthOptions& health, double label_smoothing_factor) {
  configure_logging(group.rank(), group.size());
  InferenceSetup setup;
  setup.monitor = std::make_unique<dist::HealthMonitor>(group, health);
  const c10::Device device = model::select_device(group.local_rank(), group.local_size());
  setup.task = tasks::make_task(
      {{model_folder, nullptr}, dataset, tasks::Purpose::kInference, 0, device, label_smoothing_factor});
  setup.task->check_dataset(dataset, role);
  setup.comm = dist::make_communicator(group, device);
  dist::RankActivity::process().set_phase(dist::WorkPhase::kEvaluation);
  return setup;
}

void add_health_options(CLI::App& command, dist::HealthOptions& health) {
  command
      .add_option("--heartbeat-timeout", health.heartbeat_timeout,
                  "Seconds without a heartbeat after which a rank counts as failed and the job ends")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      .add_option("--ddp-timeout", health.ddp_timeout,
                  "Seconds a collective may wait for a rank that makes no progress before the job ends")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

}  // namespace dtrain::app
