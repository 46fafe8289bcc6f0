// Single-process reducer tests against a stand-in communicator that plays a world of identical
// ranks (a sum over N ranks is N times the tensor) and logs every collective it is asked for.
#include "dist/gradient_reducer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/tiny_mlp.h"

namespace dtrain::dist {
namespace {

using dtrain::testing::TinyMlp;

class IdenticalRanksCommunicator final : public Communicator {
 public:
  IdenticalRanksCommunicator(int size, std::vector<std::string>& log) : size_(size), log_(log) {}

  int rank() const override { return 0; }
  int size() const override { return size_; }
  std::unique_ptr<PendingWork> start_all_reduce_sum(const at::Tensor& tensor) override {
    log_.push_back("all_reduce " + std::string(c10::toString(tensor.scalar_type())) + " " +
                   std::to_string(tensor.numel()));
    tensor.mul_(size_);
    return std::make_unique<DoneWork>();
  }
  void broadcast(const at::Tensor&, int) override {}
  void barrier() override {}
  std::vector<double> all_gather(const std::vector<double>& local) override { return local; }
  std::vector<double> gather(const std::vector<double>& local, int) override { return local; }

 private:
  struct DoneWork final : PendingWork {
    void wait() override {}
  };
  int size_;
  std::vector<std::string>& log_;
};

std::vector<at::Tensor> tensors_of_sizes(const std::vector<std::int64_t>& sizes) {
  std::vector<at::Tensor> tensors;
  for (std::int64_t size : sizes) tensors.push_back(at::ones({size}).requires_grad_());
  return tensors;
}

// Bytes per MiB, for caps given in elements of fp16.
double cap_in_mb(std::int64_t halves) {
  return static_cast<double>(halves) * 2 / (1024.0 * 1024.0);
}

TEST(GradientReducer, BucketsFollowReverseRegistrationOrderAndABigParameterGetsItsOwn) {
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(2, log);
  GradientReducer reducer(tensors_of_sizes({100, 100, 2000, 300, 300}), comm, {cap_in_mb(512), true});
  const std::vector<std::vector<std::size_t>> expected = {{4}, {3}, {2}, {1, 0}};
  EXPECT_EQ(reducer.bucket_layout(), expected);
}

// A word-embedding-like table (tall enough to be reduced by rows) and a bias after it.
struct EmbeddingModel {
  at::Tensor table = at::randn({kEmbeddingMinRows + 100, 8}).requires_grad_();
  at::Tensor bias = at::zeros({8}).requires_grad_();
  at::Tensor loss(const std::vector<std::int64_t>& ids) const {
    return (at::embedding(table, at::tensor(ids, at::kLong)) + bias).pow(2).sum();
  }
};

TEST(GradientReducer, AnEmbeddingTableSendsOnlyTheRowsThatHaveAGradient) {
  for (const bool fp16 : {false, true}) {
    EmbeddingModel model;
    const std::vector<std::int64_t> ids = {3, 17, 17, kEmbeddingMinRows + 5};
    model.loss(ids).backward();
    const at::Tensor expected = model.table.grad().clone();
    model.table.mutable_grad() = at::Tensor();
    model.bias.mutable_grad() = at::Tensor();

    std::vector<std::string> log;
    IdenticalRanksCommunicator comm(2, log);
    GradientReducer reducer({model.table, model.bias}, comm, {25.0, fp16});
    EXPECT_EQ(reducer.bucket_layout(), std::vector<std::vector<std::size_t>>{{1}})
        << "the table is in no bucket";
    reducer.set_sync(true);
    model.loss(ids).backward();
    ASSERT_TRUE(reducer.finish());
    const std::string type = fp16 ? "Half" : "Float";
    const std::vector<std::string> expected_log = {
        "all_reduce " + type + " 8",  // the bias's bucket
        "all_reduce Float " + std::to_string(kEmbeddingMinRows + 100),
        "all_reduce " + type + " 24",  // 3 distinct rows
        "all_reduce Float 1"};         // the finiteness vote
    EXPECT_EQ(log, expected_log);
    if (fp16) {
      EXPECT_TRUE(at::allclose(model.table.grad(), expected, 2e-3, 1e-4));
    } else {
      EXPECT_TRUE(at::equal(model.table.grad(), expected));
    }
  }
}

TEST(GradientReducer, AnEmbeddingTableWithADenseGradientGoesWhole) {
  EmbeddingModel model;
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(2, log);
  GradientReducer reducer({model.table}, comm, {25.0, false});
  reducer.set_sync(true);
  (model.table * 3).sum().backward();  // every row: an output projection tied to the table
  ASSERT_TRUE(reducer.finish());
  EXPECT_EQ(log[1], "all_reduce Float " + std::to_string(model.table.numel()));
  EXPECT_TRUE(at::equal(model.table.grad(), at::full_like(model.table, 3)));
}

TEST(GradientReducer, ManyTinyParametersShareOneBucket) {
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(2, log);
  GradientReducer reducer(tensors_of_sizes(std::vector<std::int64_t>(1000, 3)), comm);
  ASSERT_EQ(reducer.bucket_layout().size(), 1u);
  EXPECT_EQ(reducer.bucket_layout()[0].front(), 999u);
  EXPECT_EQ(reducer.bucket_layout()[0].back(), 0u);
}

TEST(GradientReducer, Fp32CapCountsFourBytesPerElement) {
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(2, log);
  // 512 halves' worth of bytes holds 256 fp32 elements: the two 200-element tensors split.
  GradientReducer reducer(tensors_of_sizes({200, 200}), comm, {cap_in_mb(512), false});
  EXPECT_EQ(reducer.bucket_layout().size(), 2u);
}

TEST(GradientReducer, AveragedGradientEqualsLocalGradientWhenRanksAgree) {
  for (const bool fp16 : {false, true}) {
    TinyMlp model({6, 32, 32, 4}, 7);
    TinyMlp reference = model.clone();
    reference.loss(reference.batch(1)).backward();

    std::vector<std::string> log;
    IdenticalRanksCommunicator comm(4, log);
    GradientReducer reducer(model.parameters(), comm, {cap_in_mb(1024), fp16});
    reducer.set_sync(true);
    model.loss(model.batch(1)).backward();
    ASSERT_TRUE(reducer.finish());
    for (std::size_t i = 0; i < model.parameters().size(); ++i) {
      const at::Tensor& expected = reference.parameters()[i].grad();
      EXPECT_TRUE(
          at::allclose(model.parameters()[i].grad(), expected, fp16 ? 2e-3 : 1e-6, fp16 ? 1e-4 : 1e-7))
          << "parameter " << i << (fp16 ? " (fp16)" : " (fp32)");
    }
    std::int64_t elements = 0;
    for (const at::Tensor& p : model.parameters()) elements += p.numel();
    EXPECT_EQ(reducer.stats().bytes_communicated, elements * (fp16 ? 2 : 4));
  }
}

TEST(GradientReducer, MicroBatchesAccumulateWithoutCommunicationUntilTheSyncOne) {
  TinyMlp model({5, 16, 3}, 11);
  TinyMlp reference = model.clone();
  for (int micro = 0; micro < 3; ++micro) reference.loss(reference.batch(100 + micro)).backward();

  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(1, log);
  GradientReducer reducer(model.parameters(), comm, {25.0, false});
  for (int micro = 0; micro < 3; ++micro) {
    reducer.set_sync(micro == 2);
    model.loss(model.batch(100 + micro)).backward();
    if (micro < 2) EXPECT_TRUE(log.empty()) << "communicated during micro-batch " << micro;
  }
  ASSERT_TRUE(reducer.finish());
  for (std::size_t i = 0; i < model.parameters().size(); ++i) {
    EXPECT_TRUE(at::allclose(model.parameters()[i].grad(), reference.parameters()[i].grad(), 1e-6, 1e-7))
        << i;
  }
}

TEST(GradientReducer, ParametersWithoutGradientCountAsZeroAndEveryBucketStillLaunches) {
  TinyMlp model({4, 8, 2}, 3);
  std::vector<at::Tensor> parameters = model.parameters();
  const at::Tensor unused = at::full({5}, 2.0).requires_grad_();
  parameters.insert(parameters.begin(), unused);  // registered first: reduced in the last bucket

  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(2, log);
  GradientReducer reducer(parameters, comm, {cap_in_mb(8), false});
  const std::size_t buckets = reducer.bucket_layout().size();
  ASSERT_GT(buckets, 2u);
  reducer.set_sync(true);
  model.loss(model.batch(5)).backward();
  EXPECT_EQ(reducer.stats().buckets_launched_in_backward + 1, static_cast<std::int64_t>(buckets))
      << "only the bucket holding the unused parameter should wait for finish()";
  ASSERT_TRUE(reducer.finish());
  EXPECT_EQ(log.size(), buckets + 1);  // every bucket, then the finiteness vote
  ASSERT_TRUE(unused.grad().defined());
  EXPECT_TRUE(at::equal(unused.grad(), at::zeros({5})));
}

TEST(GradientReducer, BucketsLaunchWhileBackwardIsStillRunning) {
  TinyMlp model({8, 64, 64, 64, 8}, 5);
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(2, log);
  // Small buckets: one per layer or so; the first layer's weight gets its gradient last.
  GradientReducer reducer(model.parameters(), comm, {cap_in_mb(4096), true});
  model.parameters().front().register_hook(
      [&log](const at::Tensor&) { log.push_back("first layer gradient"); });
  reducer.set_sync(true);
  model.loss(model.batch(9)).backward();
  const auto first_layer = std::find(log.begin(), log.end(), "first layer gradient");
  ASSERT_NE(first_layer, log.end());
  EXPECT_GE(first_layer - log.begin(), 2) << "buckets of later layers should be launched before backward "
                                             "reaches the first layer";
  EXPECT_EQ(reducer.stats().buckets_launched_in_backward,
            static_cast<std::int64_t>(reducer.bucket_layout().size()));
  ASSERT_TRUE(reducer.finish());
}

TEST(GradientReducer, WithoutOverlapEveryBucketStartsInFinish) {
  TinyMlp model({8, 64, 64, 8}, 5);
  TinyMlp reference = model.clone();
  reference.loss(reference.batch(9)).backward();
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(3, log);
  GradientReducer reducer(model.parameters(), comm,
                          {cap_in_mb(4096), false, /*overlap_with_backward=*/false});
  reducer.set_sync(true);
  model.loss(model.batch(9)).backward();
  EXPECT_TRUE(log.empty());
  ASSERT_TRUE(reducer.finish());
  EXPECT_EQ(reducer.stats().buckets_launched_in_backward, 0);
  EXPECT_EQ(reducer.stats().buckets_launched_in_finish,
            static_cast<std::int64_t>(reducer.bucket_layout().size()));
  for (std::size_t i = 0; i < model.parameters().size(); ++i) {
    EXPECT_TRUE(at::allclose(model.parameters()[i].grad(), reference.parameters()[i].grad(), 1e-6, 1e-7))
        << i;
  }
}

TEST(GradientReducer, Fp16OverflowIsReportedAndFp32HandlesTheSameGradients) {
  for (const bool fp16 : {true, false}) {
    const at::Tensor parameter = at::ones({4}).requires_grad_();
    std::vector<std::string> log;
    IdenticalRanksCommunicator comm(2, log);
    GradientReducer reducer({parameter}, comm, {25.0, fp16});
    reducer.set_sync(true);
    (parameter * 3e5).sum().backward();  // each rank's half, 1.5e5, does not fit fp16 (max 65504)
    EXPECT_EQ(reducer.finish(), !fp16);
  }
}

TEST(GradientReducer, OneRankKeepsItsFp32GradientsAndCommunicatesOnlyTheVote) {
  TinyMlp model({5, 16, 3}, 11);
  std::vector<at::Tensor> parameters = model.parameters();
  const at::Tensor unused = at::full({5}, 2.0).requires_grad_();
  parameters.push_back(unused);
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(1, log);
  GradientReducer reducer(parameters, comm, {25.0, /*fp16_all_reduce=*/true});
  for (int micro = 0; micro < 2; ++micro) {
    reducer.set_sync(micro == 1);
    (model.loss(model.batch(100 + micro)) * 1e7).backward();  // gradients far outside fp16's range
  }
  std::vector<at::Tensor> before;
  for (const at::Tensor& p : model.parameters()) before.push_back(p.grad().clone());
  ASSERT_TRUE(reducer.finish());
  EXPECT_EQ(log, std::vector<std::string>{"all_reduce Float 1"});  // the finiteness vote alone
  for (std::size_t i = 0; i < before.size(); ++i)
    EXPECT_TRUE(at::equal(model.parameters()[i].grad(), before[i]));
  EXPECT_TRUE(at::equal(unused.grad(), at::zeros({5})));
  EXPECT_EQ(reducer.stats().bytes_communicated, 0);
}

TEST(GradientReducer, NanGradientIsReported) {
  const at::Tensor parameter = at::ones({4}).requires_grad_();
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(2, log);
  GradientReducer reducer({parameter}, comm, {25.0, false});
  reducer.set_sync(true);
  (parameter * std::nan("")).sum().backward();
  EXPECT_FALSE(reducer.finish());
  // The reducer is reusable after a skipped step.
  parameter.mutable_grad() = at::Tensor();
  reducer.set_sync(true);
  (parameter * 3).sum().backward();
  EXPECT_TRUE(reducer.finish());
  EXPECT_TRUE(at::equal(parameter.grad(), at::full({4}, 3.0)));
}

TEST(GradientReducer, SyncingAgainBeforeFinishIsAnError) {
  for (const bool overlap : {true, false}) {
    const at::Tensor parameter = at::ones({2}).requires_grad_();
    std::vector<std::string> log;
    IdenticalRanksCommunicator comm(1, log);
    GradientReducer reducer({parameter}, comm, {25.0, true, overlap});
    reducer.set_sync(true);
    (parameter * 2).sum().backward();
    EXPECT_THROW(reducer.set_sync(true), dtrain::Error) << "overlap " << overlap;
    EXPECT_TRUE(reducer.finish());
  }
}

TEST(GradientReducer, FinishWithoutSyncingBackwardIsAnError) {
  const at::Tensor parameter = at::ones({2}).requires_grad_();
  std::vector<std::string> log;
  IdenticalRanksCommunicator comm(1, log);
  GradientReducer reducer({parameter}, comm);
  (parameter * 2).sum().backward();
  EXPECT_THROW((void)reducer.finish(), dtrain::Error);
}

}  // namespace
}  // namespace dtrain::dist
