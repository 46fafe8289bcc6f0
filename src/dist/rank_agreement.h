#pragma once
// Small control decisions shared between the ranks of a group, outside the data path: which
// checkpoint to resume from, whether to stop early, every rank's RNG state for a checkpoint, and
// waiting while rank 0 writes. Collective: every rank of the group calls them in the same order.
#include <cstdint>
#include <string>
#include <vector>

#include "dist/process_group.h"

namespace dtrain::dist {

// root's `value` on every rank.
std::string broadcast_string(const ProcessGroup& group, const std::string& value, int root);
bool broadcast_flag(const ProcessGroup& group, bool value, int root);

// Every rank's `local` bytes (lengths may differ), in rank order, on `root`; an empty vector on the
// other ranks.
std::vector<std::vector<uint8_t>> gather_bytes(const ProcessGroup& group, const std::vector<uint8_t>& local,
                                               int root);

// A barrier that waits by polling with short sleeps: ranks waiting for rank 0 to write a
// checkpoint neither busy-spin (stealing its cores on a small machine) nor hit a timeout.
void wait_for_all_ranks(const ProcessGroup& group);

}  // namespace dtrain::dist
