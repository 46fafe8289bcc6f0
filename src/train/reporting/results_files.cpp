#include "train/reporting/results_files.h"

#include <fstream>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"

namespace dtrain::train::reporting {
namespace {

// nlohmann's objects keep their keys sorted, and dump(4) lays them out as Python's json.dump with
// indent=4 does (no newline at the end).
void write_json(const std::filesystem::path& path, const nlohmann::json& object) {
  write_text_atomically(path, object.dump(4));
}

}  // namespace

void save_metrics(const std::filesystem::path& output_dir, const std::string& split,
                  const nlohmann::json& metrics) {
  DTRAIN_CHECK(metrics.is_object(), "save_metrics: {} metrics must be a JSON object", split);
  write_json(output_dir / (split + "_results.json"), metrics);

  const std::filesystem::path all_path = output_dir / "all_results.json";
  nlohmann::json all = nlohmann::json::object();
  if (std::filesystem::exists(all_path)) {
    std::ifstream file(all_path);
    std::stringstream text;
    text << file.rdbuf();
    try {
      all = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
      DTRAIN_FAIL("{}: not valid JSON ({}); remove it to start it afresh", all_path.string(), e.what());
    }
    DTRAIN_CHECK(all.is_object(), "{}: expected a JSON object; remove it to start it afresh",
                 all_path.string());
  }
  all.update(metrics);
  write_json(all_path, all);
}

TrainResultsReporter::TrainResultsReporter(std::filesystem::path output_dir, int64_t train_samples)
    : output_dir_(std::move(output_dir)), train_samples_(train_samples) {}

void TrainResultsReporter::report(const nlohmann::json& entry) {
  if (!entry.contains("train_runtime")) return;
  nlohmann::json metrics = entry;
  metrics.erase("step");
  metrics["train_samples"] = train_samples_;
  save_metrics(output_dir_, "train", metrics);
}

}  // namespace dtrain::train::reporting
