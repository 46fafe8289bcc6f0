#pragma once
// Subcommand registry: each src/app/cmd_*.cpp registers its subcommand with a static
// RegisterCommand; main() adds them all, parses, and runs the one selected.
#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace dtrain::app {

// Adds a subcommand's options to the app and returns the work to do if it is selected.
using CommandAdder = std::function<std::function<void()>(CLI::App& app)>;

struct RegisterCommand {
  explicit RegisterCommand(CommandAdder adder);
};

std::vector<std::function<void(CLI::App&)>>& command_registry();
void run_selected(const CLI::App& app);

}  // namespace dtrain::app
