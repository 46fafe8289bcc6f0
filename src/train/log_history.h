#pragma once
// Trainer's log history: each entry (training logs every logging_steps, evaluation results) is
// appended as one JSON line to output_dir/log.jsonl as it happens — so a killed job keeps its log —
// and kept in memory for trainer_state.json's "log_history".
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

namespace dtrain::train {

class LogHistory {
 public:
  LogHistory() = default;  // in memory only (ranks other than 0)
  // A new run starts the file afresh; a resumed run (`append`) continues it.
  LogHistory(const std::filesystem::path& jsonl_path, bool append);

  void record(const nlohmann::json& entry);
  const nlohmann::json& entries() const { return entries_; }
  // Replaces the in-memory history (resume): the file already holds these lines.
  void restore(nlohmann::json entries) { entries_ = std::move(entries); }

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::filesystem::path path_;
  nlohmann::json entries_ = nlohmann::json::array();
};

}  // namespace dtrain::train
