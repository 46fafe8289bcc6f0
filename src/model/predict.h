#pragma once
// Inference over a prepared dataset. Works on one evaluation partition (data/eval_partition.h) so
// that a distributed run can give each rank its block and concatenate the blocks in rank order.
#include <cstdint>

#include "data/dataset/dataset_reader.h"
#include "data/dataset/predictions_file.h"
#include "data/loading/index_range.h"
#include "model/bert/bert_model.h"

namespace dtrain::model {

struct PartitionPredictions {
  data::IndexRange samples;      // the dataset indices predicted, in order
  data::PredictionsTable table;  // their logits and labels
};

// Logits of this rank's partition in eval mode without autograd, batch_size samples at a time; the
// model is left in the mode it was in.
PartitionPredictions predict_partition(BertForSequenceClassificationImpl& model,
                                       const data::DatasetReader& reader, int rank, int world_size,
                                       int64_t batch_size);

}  // namespace dtrain::model
