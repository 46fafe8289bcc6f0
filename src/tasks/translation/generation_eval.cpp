#include "tasks/translation/generation_eval.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "common/error.h"
#include "data/dataset/dataset_reader.h"
#include "data/loading/collate.h"
#include "data/loading/loader.h"
#include "dist/communicator.h"
#include "dist/rank_activity.h"
#include "model/generation/generate.h"
#include "model/token_loss.h"

namespace dtrain::tasks::translation {
namespace {

at::Tensor to_tensor(const std::vector<int64_t>& values, int64_t rows, int64_t columns,
                     const c10::Device& device) {
  // from_blob does not copy: the batch outlives the forward pass.
  return at::from_blob(const_cast<int64_t*>(values.data()), {rows, columns}, at::kLong).to(device);
}

// This rank's payload, as doubles (token ids and counts are exact): the batch count, each batch's
// loss sum and target tokens, then the row count and each generated row as its length and ids.
std::vector<double> local_pass(model::MarianMTModelImpl& model, const data::DatasetReader& dataset, int rank,
                               int world_size, int64_t batch_size, const EvaluationPass& pass) {
  DTRAIN_CHECK(batch_size > 0, "batch size must be positive, got {}", batch_size);
  data::LoaderOptions options;
  options.collate = data::collate_options(dataset.info(), 0);
  data::EvalLoader loader(dataset, rank, world_size, batch_size, options);

  std::vector<double> losses{static_cast<double>(loader.num_batches())};
  std::vector<double> rows{0};
  const bool was_training = model.is_training();
  model.eval();
  const c10::Device device = model.parameters().front().device();
  c10::InferenceMode inference;
  while (auto loaded = loader.next()) {
    const data::Batch& batch = loaded->batch;
    const at::Tensor input_ids = to_tensor(batch.input_ids, batch.batch_size, batch.seq_len, device);
    const at::Tensor attention_mask =
        to_tensor(batch.attention_mask, batch.batch_size, batch.seq_len, device);
    if (pass.compute_loss) {
      const model::TokenLoss loss = model.token_loss(
          input_ids, attention_mask,
          to_tensor(batch.decoder_input_ids, batch.batch_size, batch.target_len, device),
          to_tensor(batch.labels, batch.batch_size, batch.target_len, device), pass.label_smoothing_factor);
      losses.push_back(loss.sum.item<double>());
      losses.push_back(static_cast<double>(batch.num_target_tokens));
    } else {
      losses.push_back(0.0);
      losses.push_back(0.0);
    }
    if (pass.generation) {
      const at::Tensor generated =
          model::generate(model, input_ids, attention_mask, *pass.generation).to(at::kCPU).contiguous();
      const int64_t length = generated.size(1);
      const int64_t* ids = generated.data_ptr<int64_t>();
      for (int64_t row = 0; row < generated.size(0); ++row) {
        rows.push_back(static_cast<double>(length));
        rows.insert(rows.end(), ids + row * length, ids + (row + 1) * length);
      }
      rows[0] += static_cast<double>(generated.size(0));
    }
    // Ranks with fewer batches wait for this one in the gather; each batch shows it is not stuck.
    dist::RankActivity::process().mark_progress();
  }
  model.train(was_training);
  losses.insert(losses.end(), rows.begin(), rows.end());
  return losses;
}

}  // namespace

EvaluationResult run_evaluation(model::MarianMTModelImpl& model, const data::DatasetReader& dataset,
                                dist::Communicator& comm, int64_t batch_size, const EvaluationPass& pass) {
  std::vector<double> local = local_pass(model, dataset, comm.rank(), comm.size(), batch_size, pass);
  // Gather needs equal lengths: every rank pads its payload to the longest.
  const std::vector<double> sizes = comm.all_gather({static_cast<double>(local.size())});
  const auto longest = static_cast<size_t>(*std::max_element(sizes.begin(), sizes.end()));
  local.resize(longest, 0.0);
  const std::vector<double> gathered = comm.gather(local, 0);

  EvaluationResult result;
  if (comm.rank() != 0) return result;
  // Blocks arrive in rank order, which is dataset order; losses are summed batch by batch in that
  // order, so the sum does not depend on the number of ranks.
  for (int r = 0; r < comm.size(); ++r) {
    const double* block = gathered.data() + static_cast<size_t>(r) * longest;
    const auto batches = static_cast<int64_t>(block[0]);
    for (int64_t b = 0; b < batches; ++b) {
      result.loss_sum += block[1 + 2 * b];
      result.target_tokens += static_cast<int64_t>(block[2 + 2 * b]);
    }
    const double* rows = block + 1 + 2 * batches;
    const auto count = static_cast<int64_t>(rows[0]);
    const double* at = rows + 1;
    for (int64_t row = 0; row < count; ++row) {
      const auto length = static_cast<int64_t>(at[0]);
      result.generated.emplace_back(at + 1, at + 1 + length);
      at += 1 + length;
    }
  }
  return result;
}

}  // namespace dtrain::tasks::translation
