#include "train/rank_agreement.h"

#include <chrono>
#include <thread>

#include "dist/mpi_check.h"
#include "dist/rank_activity.h"

namespace dtrain::train {

std::string broadcast_string(MPI_Comm comm, const std::string& value, int root) {
  const dist::CollectiveScope collective(dist::CollectiveKind::kBroadcast,
                                         static_cast<std::int64_t>(value.size()));
  unsigned long long length = value.size();
  DTRAIN_MPI_CHECK(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, comm));
  std::string result = value;
  result.resize(length);
  DTRAIN_MPI_CHECK(MPI_Bcast(result.data(), static_cast<int>(length), MPI_CHAR, root, comm));
  return result;
}

bool broadcast_flag(MPI_Comm comm, bool value, int root) {
  const dist::CollectiveScope collective(dist::CollectiveKind::kBroadcast, sizeof(int));
  int flag = value ? 1 : 0;
  DTRAIN_MPI_CHECK(MPI_Bcast(&flag, 1, MPI_INT, root, comm));
  return flag != 0;
}

void wait_for_all_ranks(MPI_Comm comm) {
  const dist::CollectiveScope collective(dist::CollectiveKind::kBarrier, 0);
  MPI_Request request;
  DTRAIN_MPI_CHECK(MPI_Ibarrier(comm, &request));
  for (int done = 0;;) {
    DTRAIN_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace dtrain::train
