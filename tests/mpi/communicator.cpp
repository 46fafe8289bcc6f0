// ranks: 1 2 3
#include "dist/communicator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include "common/error.h"
#include "dist/mpi_communicator.h"
#include "dist/parameter_sync.h"
#include "dist/process_group.h"

namespace dtrain::dist {
namespace {

// Every rank can regenerate any rank's data, so each computes the reference sum itself.
at::Tensor rank_data(int rank, std::int64_t count) {
  at::manual_seed(1000 + rank);
  return at::randn({count});
}

TEST(ProcessGroup, MatchesMpiWorldAndFindsTheNodeLocalRanks) {
  ProcessGroup group;
  int world_rank = -1, world_size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  EXPECT_EQ(group.rank(), world_rank);
  EXPECT_EQ(group.size(), world_size);
  EXPECT_TRUE(group.thread_multiple());
  // mpirun --oversubscribe puts every rank of a test on this one machine.
  EXPECT_EQ(group.local_size(), world_size);
  EXPECT_EQ(group.local_rank(), world_rank);
}

TEST(MpiCommunicator, Fp32AllReduceSumsExactly) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const at::Tensor values = at::arange(1000, at::kFloat) * (comm.rank() + 1);
  comm.all_reduce_sum(values);
  const int n = comm.size();
  EXPECT_TRUE(at::equal(values, at::arange(1000, at::kFloat) * (n * (n + 1) / 2)));
}

TEST(MpiCommunicator, Fp16AllReduceMatchesAnFp32ReferenceWithinHalfPrecision) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const std::int64_t count = 100003;  // odd: exercises the vector kernel's tail
  const at::Tensor values = rank_data(comm.rank(), count).to(at::kHalf);
  at::Tensor reference = at::zeros({count});
  at::Tensor magnitude = at::zeros({count});
  for (int r = 0; r < comm.size(); ++r) {
    const at::Tensor rounded = rank_data(r, count).to(at::kHalf).to(at::kFloat);
    reference += rounded;
    magnitude += rounded.abs();
  }
  comm.all_reduce_sum(values);
  // Each of the (size - 1) additions rounds to fp16: relative error 2^-11 of the running sum.
  const at::Tensor error = (values.to(at::kFloat) - reference).abs();
  EXPECT_TRUE(at::all(error <= magnitude * (comm.size() * std::ldexp(1.0, -11)) + 1e-7).item<bool>())
      << "largest error " << error.max().item<float>();
}

TEST(MpiCommunicator, SeveralAllReducesInFlightAllComplete) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  std::vector<at::Tensor> tensors;
  std::vector<std::unique_ptr<PendingWork>> works;
  for (int i = 0; i < 4; ++i) {
    tensors.push_back(at::full({5000 + i}, static_cast<float>(i + comm.rank())));
    works.push_back(comm.start_all_reduce_sum(tensors.back()));
  }
  for (int i = 3; i >= 0; --i) works[i]->wait();
  const int n = comm.size();
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(at::equal(tensors[i], at::full({5000 + i}, static_cast<float>(n * i + n * (n - 1) / 2))))
        << i;
  }
}

TEST(MpiCommunicator, BroadcastCopiesTheRootTensorToEveryRank) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const int root = comm.size() - 1;
  for (const auto dtype : {at::kFloat, at::kHalf, at::kLong}) {
    const at::Tensor values = (at::arange(777) * (comm.rank() + 1)).to(dtype);
    comm.broadcast(values, root);
    EXPECT_TRUE(at::equal(values, (at::arange(777) * (root + 1)).to(dtype))) << dtype;
  }
}

TEST(MpiCommunicator, BroadcastParametersGivesEveryRankTheRootModel) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  at::manual_seed(comm.rank());
  const std::vector<at::Tensor> parameters = {at::randn({3, 5}).requires_grad_(),
                                              at::randn({5}).requires_grad_()};
  broadcast_parameters(comm, parameters);
  at::manual_seed(0);
  EXPECT_TRUE(at::equal(parameters[0], at::randn({3, 5})));
  EXPECT_TRUE(at::equal(parameters[1], at::randn({5})));
}

TEST(MpiCommunicator, GathersMetricsInRankOrder) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  const std::vector<double> local = {static_cast<double>(comm.rank()), 10.0 * comm.rank()};
  std::vector<double> expected;
  for (int r = 0; r < comm.size(); ++r) expected.insert(expected.end(), {static_cast<double>(r), 10.0 * r});
  EXPECT_EQ(comm.all_gather(local), expected);
  EXPECT_EQ(comm.gather(local, 0), comm.rank() == 0 ? expected : std::vector<double>{});
  comm.barrier();
}

TEST(MpiCommunicator, RejectsTensorsItCannotReduce) {
  ProcessGroup group;
  MpiCommunicator comm(group);
  EXPECT_THROW(comm.all_reduce_sum(at::ones({4}, at::kInt)), dtrain::Error);
  EXPECT_THROW(comm.all_reduce_sum(at::ones({4, 4}).t()), dtrain::Error);  // not contiguous
}

TEST(MakeCommunicator, PicksMpiForTheCpu) {
  ProcessGroup group;
  const auto comm = make_communicator(group, at::Device(at::kCPU));
  EXPECT_NE(dynamic_cast<MpiCommunicator*>(comm.get()), nullptr);
  EXPECT_EQ(comm->size(), group.size());
}

TEST(MakeCommunicator, ACudaDeviceWithoutAGpuIsAClearError) {
  if (at::hasCUDA()) GTEST_SKIP() << "this machine has a GPU";
  ProcessGroup group;
  try {
    make_communicator(group, at::Device(at::kCUDA, 0));
    FAIL() << "no error";
  } catch (const dtrain::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dtrain::dist
