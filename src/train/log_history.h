#pragma once
// Trainer's log history: each entry (training logs every logging_steps, evaluation results) is
// appended as one JSON line to output_dir/log.jsonl as it happens — so a killed job keeps its log —
// kept in memory for trainer_state.json's "log_history", and handed to the reporters (TensorBoard,
// results files), as Trainer.log hands it to its callbacks.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "train/reporting/log_reporter.h"

namespace dtrain::train {

class LogHistory {
 public:
  LogHistory() = default;  // in memory only (ranks other than 0)
  // A new run starts the file afresh; a resumed run (`append`) continues it.
  LogHistory(const std::filesystem::path& jsonl_path, bool append);

  void record(const nlohmann::json& entry);
  // Every entry recorded from now on also goes to `reporter`.
  void add_reporter(std::unique_ptr<reporting::LogReporter> reporter) {
    reporters_.push_back(std::move(reporter));
  }
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
  std::vector<std::unique_ptr<reporting::LogReporter>> reporters_;
};

}  // namespace dtrain::train
