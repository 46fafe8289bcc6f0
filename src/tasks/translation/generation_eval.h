#pragma once
// The distributed passes of translation evaluation and prediction: each rank takes its exactly-once
// block of whole eval batches (data/loading/eval_partition.h), computes the teacher-forced token loss
// and, when asked, generates translations; rank 0 gathers everything in dataset order. Because the
// batches are the same at any world size and rank 0 sums the per-batch losses in dataset order, the
// results are identical on any number of ranks.
#include <cstdint>
#include <optional>
#include <vector>

#include "model/generation/generation_config.h"
#include "model/marian/marian_model.h"

namespace dtrain::data {
class DatasetReader;
}
namespace dtrain::dist {
class Communicator;
}

namespace dtrain::tasks::translation {

struct EvaluationPass {
  bool compute_loss = true;
  double label_smoothing_factor = 0.0;
  std::optional<model::GenerationConfig> generation;  // unset: no generation
};

// On rank 0: the summed loss and target-token count, and the generated ids per sample in dataset
// order (each row as generate() returns it: decoder start first, padding at the end); empty elsewhere.
struct EvaluationResult {
  double loss_sum = 0;
  int64_t target_tokens = 0;
  std::vector<std::vector<int64_t>> generated;
};

EvaluationResult run_evaluation(model::MarianMTModelImpl& model, const data::DatasetReader& dataset,
                                dist::Communicator& comm, int64_t batch_size, const EvaluationPass& pass);

}  // namespace dtrain::tasks::translation
