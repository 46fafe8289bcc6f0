#include "app/inference_setup.h"

#include "common/logging.h"
#include "model/dataset_fit.h"
#include "model/hf/hf_checkpoint.h"
#include "train/device.h"

namespace dtrain::app {

InferenceSetup prepare_inference(const dist::ProcessGroup& group, const std::string& model_folder,
                                 const data::DatasetReader& dataset) {
  configure_logging(group.rank(), group.size());
  InferenceSetup setup;
  setup.model = model::load_bert_for_sequence_classification(model_folder);
  model::check_dataset_fits_model(dataset, setup.model->config(), model_folder);
  const c10::Device device = train::select_device(group.local_rank(), group.local_size());
  setup.model->to(device);
  setup.comm = dist::make_communicator(group, device);
  return setup;
}

}  // namespace dtrain::app
