#pragma once
// Collectives on CPU tensors over MPI. All MPI traffic of one communicator runs on its own
// communication thread, in submission order, so an all-reduce started during backward progresses
// while the caller keeps computing, and collectives never interleave differently across ranks.
#include <mpi.h>

#include "dist/comm_thread.h"
#include "dist/communicator.h"
#include "dist/mpi_handles.h"

namespace dtrain::dist {

// MPI's handles for summing fp16: a 2-byte datatype and a commutative user-defined op.
class HalfSumOp {
 public:
  HalfSumOp();
  ~HalfSumOp();
  HalfSumOp(const HalfSumOp&) = delete;
  HalfSumOp& operator=(const HalfSumOp&) = delete;

  MPI_Datatype datatype() const { return datatype_; }
  MPI_Op op() const { return op_; }

 private:
  MPI_Datatype datatype_ = MPI_DATATYPE_NULL;
  MPI_Op op_ = MPI_OP_NULL;
};

class MpiCommunicator final : public Communicator {
 public:
  // Uses its own duplicate of `parent`. Needs MPI_THREAD_MULTIPLE (see ProcessGroup).
  explicit MpiCommunicator(MPI_Comm parent);
  // Spans the group's ranks.
  explicit MpiCommunicator(const ProcessGroup& group) : MpiCommunicator(world_comm(group)) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::unique_ptr<PendingWork> start_all_reduce_sum(const at::Tensor& tensor) override;
  void broadcast(const at::Tensor& tensor, int root) override;
  void barrier() override;
  std::vector<double> all_gather(const std::vector<double>& local) override;
  std::vector<double> gather(const std::vector<double>& local, int root) override;

 private:
  // Runs `job` on the communication thread and waits for it.
  void run_on_comm_thread(std::function<void()> job);

  OwnedComm comm_;
  int rank_ = 0;
  int size_ = 1;
  HalfSumOp half_sum_;
  CommThread thread_;  // last: joined before the handles above are freed
};

}  // namespace dtrain::dist
