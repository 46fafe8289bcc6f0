#pragma once
// Where the training log goes besides log.jsonl: the trainer's LogHistory hands every entry it records
// (training logs, evaluations, the end-of-training summary) to its reporters, on rank 0 only.
#include <nlohmann/json.hpp>

namespace dtrain::train::reporting {

class LogReporter {
 public:
  virtual ~LogReporter() = default;
  virtual void report(const nlohmann::json& entry) = 0;
};

}  // namespace dtrain::train::reporting
