#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/error.h"

namespace dtrain {
namespace {

spdlog::level::level_enum parse_level(const std::string& name, spdlog::level::level_enum passive) {
  if (name == "passive") return passive;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "critical") return spdlog::level::critical;
  DTRAIN_FAIL("unknown log level '{}' (passive, debug, info, warning, error, critical)", name);
}

}  // namespace

void configure_logging(int rank, int world_size, const std::string& main_level,
                       const std::string& replica_level) {
  // Logs go to stderr so stdout stays clean for results (metrics JSON, summaries).
  auto logger = spdlog::get("dtrain");
  if (!logger) logger = spdlog::stderr_color_mt("dtrain");
  spdlog::set_default_logger(logger);
  const bool main_process = rank == 0;
  spdlog::set_level(main_process ? parse_level(main_level, spdlog::level::info)
                                 : parse_level(replica_level, spdlog::level::warn));
  spdlog::set_pattern(world_size > 1 ? fmt::format("[%H:%M:%S] [rank {}] [%^%l%$] %v", rank)
                                     : std::string("[%H:%M:%S] [%^%l%$] %v"));
}

}  // namespace dtrain
