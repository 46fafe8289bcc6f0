#include "data/dataset/encode_in_batches.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace dtrain::data {

void log_prepare_progress(const std::string& source, int64_t count, const std::string& unit, double seconds) {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("prepare");
    return existing ? existing : spdlog::stderr_color_mt("prepare");
  }();
  logger->info("{}: {} {} ({:.0f} {}/s)", source, count, unit, static_cast<double>(count) / seconds, unit);
}

}  // namespace dtrain::data
