#pragma once
// Rank-aware logging: every rank logs through spdlog with a "[rank r]" prefix when the job has
// several ranks; the main process logs at `main_level`, the others at `replica_level`, with
// Hugging Face's level names ("passive" = info on the main process, warning elsewhere).
#include <string>

namespace dtrain {

void configure_logging(int rank, int world_size, const std::string& main_level = "passive",
                       const std::string& replica_level = "warning");

}  // namespace dtrain
