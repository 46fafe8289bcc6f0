#pragma once
// MPI's handles behind ProcessGroup, for the code of src/dist only (nothing else includes <mpi.h>).
#include <mpi.h>

#include "dist/process_group.h"

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

struct ProcessGroup::Handles {
  MpiRuntime runtime;  // declared first: outlives the communicator below
  OwnedComm world;     // dtrain's own duplicate of MPI_COMM_WORLD (never mixed with anyone else's)
};

inline MPI_Comm world_comm(const ProcessGroup& group) {
  return group.handles().world.get();
}

}  // namespace dtrain::dist
