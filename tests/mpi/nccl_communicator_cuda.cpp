// ranks: 1
// The NCCL communicator and the CUDA generator state on a GPU (label `cuda`: launch/gpu_check.sh runs
// them on a GPU node). One rank: a single GPU cannot host two NCCL ranks, so these prove that the
// communicator comes up on the device and keeps fp32/fp16/int64 data intact through its collectives;
// sums across ranks are the MPI communicator's tests (tests/mpi/communicator.cpp).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/cuda.h>

#include <memory>
#include <vector>

#include "common/error.h"
#include "dist/communicator.h"
#include "dist/mpi_communicator.h"
#include "dist/parameter_sync.h"
#include "dist/process_group.h"
#include "train/rng_state.h"

namespace dtrain::dist {
namespace {

const at::Device kGpu(at::kCUDA, 0);

class NcclCommunicator : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(torch::cuda::device_count(), 0u) << "no GPU visible to LibTorch (these tests need one)";
    group_ = std::make_unique<ProcessGroup>();
    comm_ = make_communicator(*group_, kGpu);
  }

  std::unique_ptr<ProcessGroup> group_;
  std::unique_ptr<Communicator> comm_;
};

TEST_F(NcclCommunicator, IsNotTheMpiBackendAndSpansTheWorld) {
  EXPECT_EQ(dynamic_cast<MpiCommunicator*>(comm_.get()), nullptr);
  EXPECT_EQ(comm_->size(), group_->size());
  EXPECT_EQ(comm_->rank(), group_->rank());
}

TEST_F(NcclCommunicator, AllReduceOfOneRankLeavesFp32AndFp16TensorsAsTheyWere) {
  at::manual_seed(7);
  for (const auto dtype : {at::kFloat, at::kHalf}) {
    const at::Tensor reference = at::randn({100003}).to(dtype);  // odd length, larger than one chunk
    const at::Tensor values = reference.to(kGpu);
    comm_->all_reduce_sum(values);
    EXPECT_TRUE(at::equal(values.cpu(), reference)) << dtype;
  }
}

TEST_F(NcclCommunicator, SeveralAllReducesInFlightAllComplete) {
  std::vector<at::Tensor> tensors;
  std::vector<std::unique_ptr<PendingWork>> works;
  for (int i = 0; i < 4; ++i) {
    tensors.push_back(at::full({5000 + i}, static_cast<float>(i), at::TensorOptions(kGpu)));
    works.push_back(comm_->start_all_reduce_sum(tensors.back()));
  }
  for (int i = 3; i >= 0; --i) works[i]->wait();
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(at::equal(tensors[i].cpu(), at::full({5000 + i}, static_cast<float>(i))));
}

TEST_F(NcclCommunicator, BroadcastKeepsTheRootTensorForEveryDtype) {
  for (const auto dtype : {at::kFloat, at::kHalf, at::kLong}) {
    const at::Tensor reference = (at::arange(777) * 3).to(dtype);
    const at::Tensor values = reference.to(kGpu);
    comm_->broadcast(values, 0);
    EXPECT_TRUE(at::equal(values.cpu(), reference)) << dtype;
  }
}

TEST_F(NcclCommunicator, BroadcastParametersKeepsAModelOnTheGpu) {
  at::manual_seed(3);
  const at::Tensor weight = at::randn({3, 5});
  const std::vector<at::Tensor> parameters = {weight.to(kGpu).requires_grad_()};
  broadcast_parameters(*comm_, parameters);
  EXPECT_TRUE(parameters[0].is_cuda());
  EXPECT_TRUE(at::equal(parameters[0].detach().cpu(), weight));
}

TEST_F(NcclCommunicator, GathersMetricsAndPassesABarrier) {
  const std::vector<double> local = {1.5, -2.0};
  EXPECT_EQ(comm_->all_gather(local), local);
  EXPECT_EQ(comm_->gather(local, 0), local);
  comm_->barrier();
}

TEST_F(NcclCommunicator, RejectsTensorsItCannotReduce) {
  EXPECT_THROW(comm_->all_reduce_sum(at::ones({4}, at::TensorOptions(kGpu).dtype(at::kInt))), dtrain::Error);
  EXPECT_THROW(comm_->all_reduce_sum(at::ones({4, 4}, at::TensorOptions(kGpu)).t()), dtrain::Error);
}

TEST(CudaRngState, RestoringTheGatheredStateRepeatsTheGpuDraws) {
  ASSERT_GT(torch::cuda::device_count(), 0u) << "no GPU visible to LibTorch (these tests need one)";
  at::manual_seed(11);
  const ProcessGroup group;
  const auto states = train::gather_rng_states(group, 0, kGpu);
  ASSERT_EQ(states.size(), 1u);
  const at::Tensor cpu_draw = at::randn({64});
  const at::Tensor gpu_draw = at::randn({4096}, at::TensorOptions(kGpu)).cpu();
  const at::Tensor gpu_mask = at::dropout(at::ones({4096}, at::TensorOptions(kGpu)), 0.5, true).cpu();

  at::manual_seed(999);  // moves both generators elsewhere
  EXPECT_TRUE(train::restore_rng_state(states[0], kGpu));
  EXPECT_TRUE(at::equal(at::randn({64}), cpu_draw));
  EXPECT_TRUE(at::equal(at::randn({4096}, at::TensorOptions(kGpu)).cpu(), gpu_draw));
  EXPECT_TRUE(at::equal(at::dropout(at::ones({4096}, at::TensorOptions(kGpu)), 0.5, true).cpu(), gpu_mask));
}

TEST(CudaRngState, AStateSavedOnTheCpuRestoresOnlyTheCpuGenerator) {
  ASSERT_GT(torch::cuda::device_count(), 0u) << "no GPU visible to LibTorch (these tests need one)";
  at::manual_seed(5);
  const ProcessGroup group;
  const auto states = train::gather_rng_states(group, 0, at::Device(at::kCPU));
  const at::Tensor cpu_draw = at::randn({64});
  at::manual_seed(6);
  EXPECT_FALSE(train::restore_rng_state(states[0], kGpu));
  EXPECT_TRUE(at::equal(at::randn({64}), cpu_draw));
}

}  // namespace
}  // namespace dtrain::dist
