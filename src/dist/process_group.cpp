#include "dist/process_group.h"

#include <utility>

#include "dist/mpi_check.h"
#include "dist/mpi_handles.h"
#include "dist/rank_activity.h"

namespace dtrain::dist {

OwnedComm::~OwnedComm() {
  reset();
}

OwnedComm::OwnedComm(OwnedComm&& other) noexcept : comm_(std::exchange(other.comm_, MPI_COMM_NULL)) {}

OwnedComm& OwnedComm::operator=(OwnedComm&& other) noexcept {
  if (this != &other) {
    reset();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
  }
  return *this;
}

void OwnedComm::reset() {
  // A destructor cannot report failure; MPI_Comm_free only fails on an invalid handle.
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

OwnedComm OwnedComm::duplicate(MPI_Comm comm) {
  MPI_Comm copy = MPI_COMM_NULL;
  DTRAIN_MPI_CHECK(MPI_Comm_dup(comm, &copy));
  OwnedComm owned(copy);
  DTRAIN_MPI_CHECK(MPI_Comm_set_errhandler(copy, MPI_ERRORS_RETURN));
  return owned;
}

MpiRuntime::MpiRuntime(int requested_thread_level) {
  int initialized = 0;
  DTRAIN_MPI_CHECK(MPI_Initialized(&initialized));
  if (initialized) {
    DTRAIN_MPI_CHECK(MPI_Query_thread(&thread_level_));
  } else {
    DTRAIN_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, requested_thread_level, &thread_level_));
    owns_mpi_ = true;
  }
}

MpiRuntime::~MpiRuntime() {
  if (owns_mpi_) MPI_Finalize();
}

ProcessGroup::ProcessGroup()
    : handles_(new Handles{MpiRuntime(MPI_THREAD_MULTIPLE), OwnedComm::duplicate(MPI_COMM_WORLD)}) {
  MPI_Comm world = handles_->world.get();
  DTRAIN_MPI_CHECK(MPI_Comm_rank(world, &rank_));
  DTRAIN_MPI_CHECK(MPI_Comm_size(world, &size_));
  // Ranks sharing memory are the ranks of one node: their order there is the GPU index.
  MPI_Comm node = MPI_COMM_NULL;
  DTRAIN_MPI_CHECK(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  OwnedComm node_comm(node);
  DTRAIN_MPI_CHECK(MPI_Comm_rank(node, &local_rank_));
  DTRAIN_MPI_CHECK(MPI_Comm_size(node, &local_size_));
}

ProcessGroup::~ProcessGroup() = default;

bool ProcessGroup::thread_multiple() const {
  return handles_->runtime.thread_level() >= MPI_THREAD_MULTIPLE;
}

void ProcessGroup::barrier() const {
  const CollectiveScope collective(CollectiveKind::kBarrier, 0);
  DTRAIN_MPI_CHECK(MPI_Barrier(handles_->world.get()));
}

std::string mpi_library_version() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(version, &length) != MPI_SUCCESS) return "unknown";
  return std::string(version, static_cast<size_t>(length));
}

}  // namespace dtrain::dist
