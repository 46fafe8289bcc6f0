#pragma once
// Sequence classification's predictions over a prepared dataset: the logits of one evaluation
// partition (data/loading/eval_partition.h), so that a distributed run gives each rank its block,
// and of the whole dataset gathered on rank 0 in dataset order.
#include <cstdint>

#include "data/dataset/dataset_reader.h"
#include "data/dataset/predictions_file.h"
#include "data/loading/index_range.h"
#include "model/bert/bert_model.h"

namespace dtrain::dist {
class Communicator;
}

namespace dtrain::tasks::classification {

struct PartitionPredictions {
  data::IndexRange samples;      // the dataset indices predicted, in order
  data::PredictionsTable table;  // their logits and labels
};

// Logits of this rank's partition in eval mode without autograd, batch_size samples at a time; the
// model is left in the mode it was in.
PartitionPredictions predict_partition(model::BertForSequenceClassificationImpl& model,
                                       const data::DatasetReader& reader, int rank, int world_size,
                                       int64_t batch_size);

// Logits and labels of the whole dataset, in dataset order, on rank 0 (an empty table elsewhere).
// Collective: every rank must call it.
data::PredictionsTable predict_distributed(model::BertForSequenceClassificationImpl& model,
                                           const data::DatasetReader& dataset, dist::Communicator& comm,
                                           int64_t batch_size);

}  // namespace dtrain::tasks::classification
