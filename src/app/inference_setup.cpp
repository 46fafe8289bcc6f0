#include "app/inference_setup.h"

#include "common/logging.h"
#include "model/device.h"
#include "tasks/task_registry.h"

namespace dtrain::app {

InferenceSetup prepare_inference(const dist::ProcessGroup& group, const std::string& model_folder,
                                 const data::DatasetReader& dataset, tasks::DatasetRole role) {
  configure_logging(group.rank(), group.size());
  const c10::Device device = model::select_device(group.local_rank(), group.local_size());
  InferenceSetup setup;
  setup.task = tasks::make_task({{model_folder, nullptr}, dataset, tasks::Purpose::kInference, 0, device});
  setup.task->check_dataset(dataset, role);
  setup.comm = dist::make_communicator(group, device);
  return setup;
}

}  // namespace dtrain::app
