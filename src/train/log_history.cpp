#include "train/log_history.h"

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace dtrain::train {

LogHistory::LogHistory(const std::filesystem::path& jsonl_path, bool append)
    : file_(std::fopen(jsonl_path.c_str(), append ? "a" : "w")), path_(jsonl_path) {
  DTRAIN_CHECK(file_ != nullptr, "{}: cannot open for writing: {}", jsonl_path.string(),
               std::strerror(errno));
}

void LogHistory::record(const nlohmann::json& entry) {
  entries_.push_back(entry);
  if (file_) {
    const std::string line = entry.dump() + "\n";
    const bool written =
        std::fwrite(line.data(), 1, line.size(), file_.get()) == line.size() && std::fflush(file_.get()) == 0;
    DTRAIN_CHECK(written, "{}: write failed: {}", path_.string(), std::strerror(errno));
  }
  for (const auto& reporter : reporters_) reporter->report(entry);
}

}  // namespace dtrain::train
