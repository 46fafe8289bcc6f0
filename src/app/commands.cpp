#include "app/commands.h"

#include <mpi.h>

#include <cstdlib>
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

void abort_job(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    MPI_Finalize();
  }
  std::exit(code);
}

}  // namespace dtrain::app
