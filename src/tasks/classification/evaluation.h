#pragma once
// Distributed evaluation of a sequence classifier: every rank predicts its exactly-once partition
// of the dataset (whole batches, see data/loading/eval_partition.h), rank 0 gathers the logits in
// dataset order and computes eval_loss and the task's metrics. No sample is counted twice (the
// padded-tail bug of DistributedSampler-based evaluation) and results are bit-identical at any
// number of ranks.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "data/dataset/predictions_file.h"

namespace dtrain::data {
class DatasetReader;
}
namespace dtrain::dist {
class Communicator;
}
namespace dtrain::model {
class BertForSequenceClassificationImpl;
}

namespace dtrain::tasks::classification {

// {"eval_loss", "eval_<metric>"...} of a whole dataset's predictions: cross-entropy or squared
// error per sample, averaged, and the metrics for `task_name` (metrics/glue_metrics.h).
nlohmann::json prediction_metrics(const data::PredictionsTable& table, const std::string& task_name);

// predict_distributed + prediction_metrics, with "eval_samples", "eval_runtime" and
// "eval_samples_per_second", on rank 0; an empty object on the other ranks. Collective.
nlohmann::json evaluate(model::BertForSequenceClassificationImpl& model, const data::DatasetReader& dataset,
                        dist::Communicator& comm, int64_t batch_size, const std::string& task_name);

}  // namespace dtrain::tasks::classification
