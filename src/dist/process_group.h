#pragma once
// The set of ranks taking part in a job: MPI's lifetime, world rank/size and the node-local
// rank/size (which picks the GPU). Works under mpirun, srun (PMIx) and as a singleton (dtrain
// started alone is one rank of one).
#include <mpi.h>

namespace dtrain::dist {

// Owns an MPI communicator and frees it on destruction.
class OwnedComm {
 public:
  OwnedComm() = default;
  explicit OwnedComm(MPI_Comm comm) : comm_(comm) {}
  ~OwnedComm();
  OwnedComm(OwnedComm&& other) noexcept;
  OwnedComm& operator=(OwnedComm&& other) noexcept;
  OwnedComm(const OwnedComm&) = delete;
  OwnedComm& operator=(const OwnedComm&) = delete;

  MPI_Comm get() const { return comm_; }

  // A duplicate of `comm` whose errors are returned (and so reported by DTRAIN_MPI_CHECK).
  static OwnedComm duplicate(MPI_Comm comm);

 private:
  void reset();
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// MPI's lifetime: initialises MPI unless something else already did, and finalises only what it
// initialised.
class MpiRuntime {
 public:
  explicit MpiRuntime(int requested_thread_level);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  int thread_level() const { return thread_level_; }

 private:
  bool owns_mpi_ = false;
  int thread_level_ = MPI_THREAD_SINGLE;
};

class ProcessGroup {
 public:
  // Initialises MPI with MPI_THREAD_MULTIPLE (communication threads issue MPI calls while the
  // main thread may issue others). If MPI is already initialised (a test main, an embedding
  // program), the group adopts it and leaves finalising to its owner.
  ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  // The thread support MPI granted (MPI_THREAD_SINGLE .. MPI_THREAD_MULTIPLE).
  int thread_level() const { return runtime_.thread_level(); }
  // dtrain's own duplicate of MPI_COMM_WORLD (collectives here never mix with anyone else's).
  MPI_Comm world() const { return world_.get(); }

  void barrier() const;

 private:
  MpiRuntime runtime_;  // declared first: outlives the communicators below
  OwnedComm world_;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
};

}  // namespace dtrain::dist
