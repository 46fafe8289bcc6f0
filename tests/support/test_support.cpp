#include "support/test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

namespace dtrain::testing {
namespace fs = std::filesystem;

std::optional<fs::path> shared_data() {
  const char* env = std::getenv("DTRAIN_SHARED_DATA");
  fs::path path = env ? fs::path(env) : fs::path("../shared/data");
  if (fs::is_directory(path / "glue") && fs::is_directory(path / "vocab")) return path;
  return std::nullopt;
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string python() {
  const char* env = std::getenv("DTRAIN_PYTHON");
  return env ? env : "";
}

std::string missing_python_modules(const std::string& modules) {
  if (python().empty()) return "DTRAIN_PYTHON is not set (run the tests through CTest)";
  std::string imports;
  for (size_t start = 0; start < modules.size();) {
    size_t end = modules.find(' ', start);
    if (end == std::string::npos) end = modules.size();
    if (end > start) imports += (imports.empty() ? "import " : ", ") + modules.substr(start, end - start);
    start = end + 1;
  }
  const CommandResult result = run_command("'" + python() + "' -c '" + imports + "'");
  if (result.exit_code == 0) return "";
  return python() + " cannot run `" + imports +
         "`: " + result.output.substr(result.output.rfind('\n', result.output.size() - 2) + 1);
}

ScratchDir::ScratchDir(const std::string& tag) {
  std::random_device device;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate =
        fs::temp_directory_path() / (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(device()));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("could not create a scratch folder under " + fs::temp_directory_path().string());
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void write_file(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("could not write " + path.string());
}

fs::path dtrain_binary() {
  const char* env = std::getenv("DTRAIN_BINARY");
  return env ? fs::path(env) : fs::path("build/dtrain");
}

fs::path source_dir() {
  const char* env = std::getenv("DTRAIN_SOURCE_DIR");
  return env ? fs::path(env) : fs::current_path();
}

std::string mpirun_dtrain(int ranks) {
  const char* mpiexec = std::getenv("DTRAIN_MPIEXEC");
  return std::string(mpiexec ? mpiexec : "mpirun") + " -np " + std::to_string(ranks) +
         " --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 " + dtrain_binary().string();
}

CommandResult run_command(const std::string& command) {
  std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed for: " + command);
  std::string output;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {code, output};
}

}  // namespace dtrain::testing
