// dtrain: one executable, one subcommand per job. Errors from anywhere arrive here as exceptions,
// are printed once as a single line, and end the process (and, under MPI, the whole job) non-zero.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "app/commands.h"
#include "common/error.h"

int main(int argc, char** argv) {
  CLI::App app{"dtrain: distributed fine-tuning of transformer models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dtrain 0.1.0");
  for (const auto& add_command : dtrain::app::command_registry()) add_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    dtrain::app::run_selected(app);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dtrain: error: %s\n", e.what());
    std::fflush(stderr);
    dtrain::app::abort_job(1);
    return 1;
  }
}
