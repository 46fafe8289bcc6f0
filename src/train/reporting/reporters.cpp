#include "train/reporting/reporters.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <ctime>

#include "train/reporting/results_files.h"
#include "train/reporting/tensorboard_reporter.h"

namespace dtrain::train::reporting {
namespace {

bool names_tensorboard(const std::vector<std::string>& report_to) {
  for (const auto& name : report_to) {
    if (name == "tensorboard" || name == "all") return true;
  }
  return false;
}

}  // namespace

std::filesystem::path resolve_logging_dir(const TrainingArguments& args) {
  if (args.logging_dir) return *args.logging_dir;
  if (const char* from_environment = std::getenv("TENSORBOARD_LOGGING_DIR");
      from_environment && *from_environment) {
    return from_environment;
  }
  // datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname(); dtrain never sets a locale,
  // so %b is the C locale's English month as in Python.
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char date[32];
  std::strftime(date, sizeof(date), "%b%d_%H-%M-%S", &local);
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof(host)) != 0) host[0] = '\0';
  return std::filesystem::path(args.output_dir) / "runs" / (std::string(date) + "_" + host);
}

std::vector<std::unique_ptr<LogReporter>> make_reporters(const TrainingArguments& args, int64_t train_samples,
                                                         std::optional<int64_t> resumed_at_step) {
  std::vector<std::unique_ptr<LogReporter>> reporters;
  if (names_tensorboard(args.report_to)) {
    auto tensorboard = std::make_unique<TensorBoardReporter>(resolve_logging_dir(args), resumed_at_step);
    spdlog::info("TensorBoard events: {}", tensorboard->event_file().string());
    reporters.push_back(std::move(tensorboard));
  }
  reporters.push_back(std::make_unique<TrainResultsReporter>(args.output_dir, train_samples));
  return reporters;
}

}  // namespace dtrain::train::reporting
