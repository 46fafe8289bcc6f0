#include "dist/rank_agreement.h"

#include <chrono>
#include <limits>
#include <numeric>
#include <thread>

#include "common/error.h"
#include "dist/mpi_check.h"
#include "dist/mpi_handles.h"
#include "dist/rank_activity.h"

namespace dtrain::dist {

std::string broadcast_string(const ProcessGroup& group, const std::string& value, int root) {
  const CollectiveScope collective(CollectiveKind::kBroadcast, static_cast<std::int64_t>(value.size()));
  MPI_Comm comm = world_comm(group);
  unsigned long long length = value.size();
  DTRAIN_MPI_CHECK(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, comm));
  std::string result = value;
  result.resize(length);
  DTRAIN_MPI_CHECK(MPI_Bcast(result.data(), static_cast<int>(length), MPI_CHAR, root, comm));
  return result;
}

bool broadcast_flag(const ProcessGroup& group, bool value, int root) {
  const CollectiveScope collective(CollectiveKind::kBroadcast, sizeof(int));
  int flag = value ? 1 : 0;
  DTRAIN_MPI_CHECK(MPI_Bcast(&flag, 1, MPI_INT, root, world_comm(group)));
  return flag != 0;
}

std::vector<std::vector<uint8_t>> gather_bytes(const ProcessGroup& group, const std::vector<uint8_t>& local,
                                               int root) {
  MPI_Comm comm = world_comm(group);
  const bool is_root = group.rank() == root;
  DTRAIN_CHECK(local.size() <= static_cast<size_t>(std::numeric_limits<int>::max()),
               "gather_bytes: {} bytes exceed MPI's count limit", local.size());
  const int count = static_cast<int>(local.size());
  const CollectiveScope collective(CollectiveKind::kGather, count);
  std::vector<int> counts(is_root ? group.size() : 0);
  DTRAIN_MPI_CHECK(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm));
  std::vector<int> displacements(counts.size());
  if (is_root) std::exclusive_scan(counts.begin(), counts.end(), displacements.begin(), 0);
  std::vector<uint8_t> all(is_root ? std::accumulate(counts.begin(), counts.end(), size_t{0}) : 0);
  DTRAIN_MPI_CHECK(MPI_Gatherv(local.data(), count, MPI_BYTE, all.data(), counts.data(), displacements.data(),
                               MPI_BYTE, root, comm));
  std::vector<std::vector<uint8_t>> per_rank;
  for (size_t rank = 0; rank < counts.size(); ++rank) {
    const auto first = all.begin() + displacements[rank];
    per_rank.emplace_back(first, first + counts[rank]);
  }
  return per_rank;
}

void wait_for_all_ranks(const ProcessGroup& group) {
  const CollectiveScope collective(CollectiveKind::kBarrier, 0);
  MPI_Request request;
  DTRAIN_MPI_CHECK(MPI_Ibarrier(world_comm(group), &request));
  for (int done = 0;;) {
    DTRAIN_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace dtrain::dist
