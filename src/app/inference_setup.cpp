#include "app/inference_setup.h"

#include "common/logging.h"
#include "dist/rank_activity.h"
#include "model/dataset_fit.h"
#include "model/hf/hf_checkpoint.h"
#include "train/device.h"

namespace dtrain::app {

InferenceSetup prepare_inference(const dist::ProcessGroup& group, const std::string& model_folder,
                                 const data::DatasetReader& dataset, const dist::HealthOptions& health) {
  configure_logging(group.rank(), group.size());
  InferenceSetup setup;
  setup.monitor = std::make_unique<dist::HealthMonitor>(group, health);
  setup.model = model::load_bert_for_sequence_classification(model_folder);
  model::check_dataset_fits_model(dataset, setup.model->config(), model_folder);
  const c10::Device device = train::select_device(group.local_rank(), group.local_size());
  setup.model->to(device);
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
