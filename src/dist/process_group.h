#pragma once
// The set of ranks taking part in a job: MPI's lifetime, world rank/size and the node-local
// rank/size (which picks the GPU). Works under mpirun, srun (PMIx) and as a singleton (dtrain
// started alone is one rank of one). MPI itself stays inside src/dist: this header does not need
// <mpi.h>, and the control-plane collectives the trainer needs are in dist/rank_agreement.h.
#include <memory>
#include <string>

namespace dtrain::dist {

class ProcessGroup {
 public:
  // Initialises MPI with MPI_THREAD_MULTIPLE (communication threads issue MPI calls while the
  // main thread may issue others). If MPI is already initialised (a test main, an embedding
  // program), the group adopts it and leaves finalising to its owner.
  ProcessGroup();
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  // Whether MPI granted MPI_THREAD_MULTIPLE, which the MPI communicator's thread needs.
  bool thread_multiple() const;

  void barrier() const;

  // MPI's handles (the runtime and dtrain's duplicate of MPI_COMM_WORLD), defined in
  // dist/mpi_handles.h for the code of src/dist.
  struct Handles;
  const Handles& handles() const { return *handles_; }

 private:
  std::unique_ptr<Handles> handles_;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
};

// The MPI library's own version line (e.g. "Open MPI v4.1.4, ..."), for `dtrain info`.
std::string mpi_library_version();

}  // namespace dtrain::dist
