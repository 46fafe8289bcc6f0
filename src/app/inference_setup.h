#pragma once
// What `dtrain predict` and `dtrain evaluate` share: on every rank, the task for the model folder
// (its config.json model_type and the dataset's task type, tasks/task_registry.h) with the model on
// this rank's device, checked against the dataset, and a communicator for gathering results.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "data/dataset/dataset_reader.h"
#include "dist/communicator.h"
#include "dist/health_monitor.h"
#include "dist/process_group.h"
#include "tasks/task.h"

namespace dtrain::app {

struct InferenceSetup {
  std::unique_ptr<dist::HealthMonitor> monitor;  // first: watches until everything else is gone
  std::unique_ptr<tasks::Task> task;
  std::unique_ptr<dist::Communicator> comm;
};

InferenceSetup prepare_inference(const dist::ProcessGroup& group, const std::string& model_folder,
                                 const data::DatasetReader& dataset, tasks::DatasetRole role,
                                 const dist::HealthOptions& health, double label_smoothing_factor = 0.0);

// --heartbeat-timeout and --ddp-timeout, as the training arguments heartbeat_timeout and ddp_timeout.
void add_health_options(CLI::App& command, dist::HealthOptions& health);

}  // namespace dtrain::app
