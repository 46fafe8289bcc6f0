#include "app/commands.h"

#include <map>
#include <string>

#include "common/error.h"

namespace dtrain::app {
namespace {
std::map<const CLI::App*, std::function<void()>>& runners() {
  static std::map<const CLI::App*, std::function<void()>> table;
  return table;
}
}  // namespace

std::vector<std::function<void(CLI::App&)>>& command_registry() {
  static std::vector<std::function<void(CLI::App&)>> registry;
  return registry;
}

RegisterCommand::RegisterCommand(CommandAdder adder) {
  command_registry().push_back([adder](CLI::App& app) {
    const size_t before = app.get_subcommands({}).size();
    std::function<void()> run = adder(app);
    auto all = app.get_subcommands({});
    DTRAIN_ASSERT(all.size() == before + 1, "a command must add exactly one subcommand");
    runners()[all.back()] = std::move(run);
  });
}

void run_selected(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    auto it = runners().find(sub);
    DTRAIN_ASSERT(it != runners().end(), "no runner for subcommand {}", sub->get_name());
    it->second();
  }
}

}  // namespace dtrain::app
