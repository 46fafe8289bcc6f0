// `dtrain plot RUN_DIR [--output FILE.png]`: a run's training curves from its log.jsonl as a PNG
// (gnuplot), for people without TensorBoard.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "app/commands.h"
#include "common/error.h"
#include "train/reporting/training_plot.h"

namespace dtrain::app {
namespace {

namespace fs = std::filesystem;

struct PlotCommandOptions {
  std::string run;
  std::string output;
  std::string size = "1000x900";
};

void run_plot(const PlotCommandOptions& options) {
  const fs::path log =
      fs::is_directory(options.run) ? fs::path(options.run) / "log.jsonl" : fs::path(options.run);
  const fs::path png =
      options.output.empty() ? log.parent_path() / "training_curves.png" : fs::path(options.output);
  train::reporting::PlotOptions plot;
  char separator = 0;
  const int parsed = std::sscanf(options.size.c_str(), "%d%c%d", &plot.width, &separator, &plot.height);
  DTRAIN_CHECK(parsed == 3 && separator == 'x' && plot.width > 0 && plot.height > 0,
               "plot: --size must be WIDTHxHEIGHT in pixels (e.g. 1000x900), got '{}'", options.size);
  train::reporting::plot_training_curves(log, png, plot);
  fmt::print("plot: {} -> {}\n", log.string(), png.string());
}

const RegisterCommand kPlot([](CLI::App& app) -> std::function<void()> {
  auto* sub = app.add_subcommand(
      "plot",
      "Draw a run's loss, learning rate and evaluation metrics against step from its log.jsonl (PNG)");
  auto options = std::make_shared<PlotCommandOptions>();
  sub->add_option("run", options->run, "The run's output_dir (or its log.jsonl)")->required();
  sub->add_option("--output", options->output, "PNG to write (default: RUN_DIR/training_curves.png)");
  sub->add_option("--size", options->size, "Image size in pixels, WIDTHxHEIGHT")->capture_default_str();
  return [options] { run_plot(*options); };
});

}  // namespace
}  // namespace dtrain::app
