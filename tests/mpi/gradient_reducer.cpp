// ranks: 1 2 3
// The reducer over real MPI ranks: each rank trains on its own batches, and every rank can
// recompute any rank's gradients locally, which gives the expected average.
#include "dist/gradient_reducer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dist/mpi_communicator.h"
#include "dist/process_group.h"
#include "support/tiny_mlp.h"

namespace dtrain::dist {
namespace {

using dtrain::testing::TinyMlp;

constexpr std::uint64_t kModelSeed = 42;
const std::vector<std::int64_t> kWidths = {6, 48, 48, 3};

std::uint64_t batch_seed(int rank, int micro_batch) {
  return 7000 + 100 * rank + micro_batch;
}

// The average over ranks of each rank's gradient summed over its micro-batches.
std::vector<at::Tensor> expected_gradients(int world_size, int micro_batches) {
  std::vector<at::Tensor> sum;
  for (int r = 0; r < world_size; ++r) {
    TinyMlp replica(kWidths, kModelSeed);
    for (int m = 0; m < micro_batches; ++m) replica.loss(replica.batch(batch_seed(r, m))).backward();
    for (std::size_t i = 0; i < replica.parameters().size(); ++i) {
      const at::Tensor grad = replica.parameters()[i].grad();
      if (sum.size() <= i) {
        sum.push_back(grad.clone());
      } else {
        sum[i] += grad;
      }
    }
  }
  for (at::Tensor& grad : sum) grad /= world_size;
  return sum;
}

void expect_gradients(const TinyMlp& model, const std::vector<at::Tensor>& expected, double rtol,
                      double atol) {
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(at::allclose(model.parameters()[i].grad(), expected[i], rtol, atol))
        << "parameter " << i << ": largest difference "
        << (model.parameters()[i].grad() - expected[i]).abs().max().item<float>();
  }
}

TEST(GradientReducer, AveragesTheGradientsOfAllRanks) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const std::vector<at::Tensor> expected = expected_gradients(comm.size(), 1);
  for (const bool fp16 : {false, true}) {
    TinyMlp model(kWidths, kModelSeed);
    // Small buckets so that several collectives are in flight at once.
    GradientReducer reducer(model.parameters(), comm, {0.004, fp16});
    ASSERT_GT(reducer.bucket_layout().size(), 2u);
    reducer.set_sync(true);
    model.loss(model.batch(batch_seed(comm.rank(), 0))).backward();
    // Every parameter got its gradient during backward, so every bucket started there (one rank
    // has nothing to communicate).
    EXPECT_EQ(reducer.stats().buckets_launched_in_backward,
              comm.size() == 1 ? 0 : static_cast<std::int64_t>(reducer.bucket_layout().size()));
    ASSERT_TRUE(reducer.finish());
    expect_gradients(model, expected, fp16 ? 2e-3 : 1e-5, fp16 ? 2e-4 : 1e-7);
  }
}

TEST(GradientReducer, MicroBatchesThenOneSyncGiveTheAverageOfTheSums) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const int micro_batches = 3;
  TinyMlp model(kWidths, kModelSeed);
  GradientReducer reducer(model.parameters(), comm, {25.0, false});
  for (int m = 0; m < micro_batches; ++m) {
    reducer.set_sync(m == micro_batches - 1);
    model.loss(model.batch(batch_seed(comm.rank(), m))).backward();
  }
  ASSERT_TRUE(reducer.finish());
  EXPECT_EQ(reducer.stats().bytes_communicated,
            comm.size() == 1 ? 0 : 4 * (6 * 48 + 48 + 48 * 48 + 48 + 3 * 48 + 3));
  expect_gradients(model, expected_gradients(comm.size(), micro_batches), 1e-5, 1e-7);
}

TEST(GradientReducer, AParameterUnusedOnSomeRanksIsAveragedAsZeroThere) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const at::Tensor gate = at::full({4}, 0.5).requires_grad_();
  GradientReducer reducer({gate, at::ones({3}).requires_grad_()}, comm, {0.000001, false});
  reducer.set_sync(true);
  // Only odd ranks use `gate` (gradient 2 each); the second parameter is used nowhere.
  if (comm.rank() % 2 == 1) (gate * 2).sum().backward();
  ASSERT_TRUE(reducer.finish());
  const int users = comm.size() / 2;
  EXPECT_TRUE(at::allclose(gate.grad(), at::full({4}, 2.0 * users / comm.size())));
}

TEST(GradientReducer, EmbeddingRowsUsedOnAnyRankAreAveraged) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const std::int64_t rows = kEmbeddingMinRows + 10;
  // Rank r looks up rows r, 100 + r and one row every rank shares, weighted by r + 1.
  const auto loss = [rows](const at::Tensor& table, int rank) {
    const std::vector<std::int64_t> ids = {rank, 100 + rank, rows - 1};
    return at::embedding(table, at::tensor(ids, at::kLong)).pow(2).sum() * (rank + 1);
  };
  const at::Tensor initial = at::arange(rows * 16, at::kFloat).view({rows, 16}).div_(rows * 16);
  at::Tensor expected = at::zeros_like(initial);
  for (int r = 0; r < comm.size(); ++r) {
    const at::Tensor table = initial.clone().requires_grad_();
    loss(table, r).backward();
    expected += table.grad() / comm.size();
  }
  for (const bool fp16 : {false, true}) {
    const at::Tensor table = initial.clone().requires_grad_();
    GradientReducer reducer({table}, comm, {25.0, fp16});
    reducer.set_sync(true);
    loss(table, comm.rank()).backward();
    ASSERT_TRUE(reducer.finish());
    EXPECT_TRUE(at::allclose(table.grad(), expected, fp16 ? 2e-3 : 1e-6, fp16 ? 1e-5 : 1e-8))
        << "largest difference " << (table.grad() - expected).abs().max().item<float>();
    EXPECT_LT(reducer.stats().bytes_communicated, table.numel() * 2) << "the whole table was sent";
  }
}

TEST(GradientReducer, AnInfOnOneRankMakesEveryRankSkip) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const at::Tensor parameter = at::ones({16}).requires_grad_();
  GradientReducer reducer({parameter}, comm, {25.0, true});
  reducer.set_sync(true);
  const double factor = comm.rank() == comm.size() - 1 ? std::numeric_limits<double>::infinity() : 1.0;
  (parameter * factor).sum().backward();
  EXPECT_FALSE(reducer.finish());

  parameter.mutable_grad() = at::Tensor();
  reducer.set_sync(true);
  (parameter * (comm.rank() + 1)).sum().backward();
  EXPECT_TRUE(reducer.finish());
  EXPECT_TRUE(at::allclose(parameter.grad(), at::full({16}, (comm.size() + 1) / 2.0)));
}

}  // namespace
}  // namespace dtrain::dist
