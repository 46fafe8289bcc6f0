#include "dist/mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "common/error.h"
#include "dist/half_sum.h"
#include "dist/mpi_check.h"
#include "dist/rank_activity.h"

namespace dtrain::dist {
namespace {

void sum_half_buffers(void* in, void* inout, int* count, MPI_Datatype*) {
  add_half_into(static_cast<const std::uint16_t*>(in), static_cast<std::uint16_t*>(inout),
                static_cast<std::size_t>(*count));
}

void check_cpu_contiguous(const at::Tensor& tensor, const char* operation) {
  DTRAIN_ASSERT(tensor.defined() && tensor.device().is_cpu() && tensor.is_contiguous(),
                "{} over MPI needs a defined, contiguous CPU tensor (got {} on {})", operation,
                tensor.defined() ? tensor.toString() : "undefined",
                tensor.defined() ? tensor.device().str() : "-");
}

// MPI counts are ints: operate on at most INT_MAX elements at a time.
template <typename Call>
void in_int_sized_chunks(std::int64_t count, Call call) {
  for (std::int64_t offset = 0; offset < count; offset += INT_MAX) {
    call(offset, static_cast<int>(std::min<std::int64_t>(INT_MAX, count - offset)));
  }
}

// Marks an asynchronous collective complete when the job that ran it ends, by an error too.
class CompletesCollective {
 public:
  explicit CompletesCollective(std::int64_t sequence) : sequence_(sequence) {}
  ~CompletesCollective() { RankActivity::process().complete_collective(sequence_); }
  CompletesCollective(const CompletesCollective&) = delete;
  CompletesCollective& operator=(const CompletesCollective&) = delete;

 private:
  std::int64_t sequence_;
};

class FutureWork final : public PendingWork {
 public:
  explicit FutureWork(std::future<void> done) : done_(std::move(done)) {}
  void wait() override { done_.get(); }

 private:
  std::future<void> done_;
};

}  // namespace

HalfSumOp::HalfSumOp() {
  DTRAIN_MPI_CHECK(MPI_Type_contiguous(2, MPI_BYTE, &datatype_));
  DTRAIN_MPI_CHECK(MPI_Type_commit(&datatype_));
  DTRAIN_MPI_CHECK(MPI_Op_create(&sum_half_buffers, /*commute=*/1, &op_));
}

HalfSumOp::~HalfSumOp() {
  if (op_ != MPI_OP_NULL) MPI_Op_free(&op_);
  if (datatype_ != MPI_DATATYPE_NULL) MPI_Type_free(&datatype_);
}

MpiCommunicator::MpiCommunicator(MPI_Comm parent) : comm_(OwnedComm::duplicate(parent)) {
  int thread_level = MPI_THREAD_SINGLE;
  DTRAIN_MPI_CHECK(MPI_Query_thread(&thread_level));
  DTRAIN_ASSERT(
      thread_level >= MPI_THREAD_MULTIPLE,
      "the MPI communicator needs MPI_THREAD_MULTIPLE but MPI granted level {} (hint: initialise MPI "
      "with MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...) or let dist::ProcessGroup do it)",
      thread_level);
  DTRAIN_MPI_CHECK(MPI_Comm_rank(comm_.get(), &rank_));
  DTRAIN_MPI_CHECK(MPI_Comm_size(comm_.get(), &size_));
}

std::unique_ptr<PendingWork> MpiCommunicator::start_all_reduce_sum(const at::Tensor& tensor) {
  check_cpu_contiguous(tensor, "all_reduce_sum");
  MPI_Datatype datatype = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_SUM;
  if (tensor.scalar_type() == at::kHalf) {
    datatype = half_sum_.datatype();
    op = half_sum_.op();
  } else {
    DTRAIN_ASSERT(tensor.scalar_type() == at::kFloat, "all_reduce_sum supports fp16 and fp32, not {}",
                  tensor.toString());
    datatype = MPI_FLOAT;
  }
  MPI_Comm comm = comm_.get();
  // Numbered here, in the caller's order, which is the same on every rank.
  const std::int64_t sequence = RankActivity::process().enter_collective(
      CollectiveKind::kAllReduce, static_cast<std::int64_t>(tensor.nbytes()));
  // The job holds a reference to the tensor, so its storage lives until the sum is done.
  return std::make_unique<FutureWork>(thread_.submit([tensor, datatype, op, comm, sequence] {
    const CompletesCollective completes(sequence);
    auto* bytes = static_cast<char*>(tensor.data_ptr());
    const std::int64_t element_size = tensor.element_size();
    in_int_sized_chunks(tensor.numel(), [&](std::int64_t offset, int count) {
      DTRAIN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, bytes + offset * element_size, count, datatype, op, comm));
    });
  }));
}

void MpiCommunicator::broadcast(const at::Tensor& tensor, int root) {
  check_cpu_contiguous(tensor, "broadcast");
  MPI_Comm comm = comm_.get();
  const CollectiveScope collective(CollectiveKind::kBroadcast, static_cast<std::int64_t>(tensor.nbytes()));
  run_on_comm_thread([&] {
    auto* bytes = static_cast<char*>(tensor.data_ptr());
    in_int_sized_chunks(static_cast<std::int64_t>(tensor.nbytes()), [&](std::int64_t offset, int count) {
      DTRAIN_MPI_CHECK(MPI_Bcast(bytes + offset, count, MPI_BYTE, root, comm));
    });
  });
}

void MpiCommunicator::barrier() {
  MPI_Comm comm = comm_.get();
  const CollectiveScope collective(CollectiveKind::kBarrier, 0);
  run_on_comm_thread([comm] { DTRAIN_MPI_CHECK(MPI_Barrier(comm)); });
}

std::vector<double> MpiCommunicator::all_gather(const std::vector<double>& local) {
  std::vector<double> all(local.size() * size_);
  MPI_Comm comm = comm_.get();
  const CollectiveScope collective(CollectiveKind::kAllGather,
                                   static_cast<std::int64_t>(local.size() * sizeof(double)));
  run_on_comm_thread([&] {
    DTRAIN_MPI_CHECK(MPI_Allgather(local.data(), static_cast<int>(local.size()), MPI_DOUBLE, all.data(),
                                   static_cast<int>(local.size()), MPI_DOUBLE, comm));
  });
  return all;
}

std::vector<double> MpiCommunicator::gather(const std::vector<double>& local, int root) {
  std::vector<double> all(rank_ == root ? local.size() * size_ : 0);
  MPI_Comm comm = comm_.get();
  const CollectiveScope collective(CollectiveKind::kGather,
                                   static_cast<std::int64_t>(local.size() * sizeof(double)));
  run_on_comm_thread([&] {
    DTRAIN_MPI_CHECK(MPI_Gather(local.data(), static_cast<int>(local.size()), MPI_DOUBLE, all.data(),
                                static_cast<int>(local.size()), MPI_DOUBLE, root, comm));
  });
  return all;
}

void MpiCommunicator::run_on_comm_thread(std::function<void()> job) {
  thread_.submit(std::move(job)).get();
}

}  // namespace dtrain::dist
