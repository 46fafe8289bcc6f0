#pragma once
// Distributed evaluation: every rank predicts its exactly-once partition of the dataset, rank 0
// gathers the logits in dataset order and computes eval_loss and the task's metrics, so the result
// cannot count a sample twice (the padded-tail bug of DistributedSampler-based evaluation).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace dtrain::data {
class DatasetReader;
}
namespace dtrain::dist {
class Communicator;
}
namespace dtrain::model {
class BertForSequenceClassificationImpl;
}

namespace dtrain::train {

// {"eval_loss", "eval_<metric>"..., "eval_samples", "eval_runtime", "eval_samples_per_second"} on
// rank 0; an empty object on the other ranks. Collective: every rank must call it.
nlohmann::json evaluate(model::BertForSequenceClassificationImpl& model, const data::DatasetReader& dataset,
                        dist::Communicator& comm, int64_t batch_size, const std::string& task_name);

}  // namespace dtrain::train
