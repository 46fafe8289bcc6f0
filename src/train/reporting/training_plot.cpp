#include "train/reporting/training_plot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"

extern char** environ;

namespace dtrain::train::reporting {
namespace {

namespace fs = std::filesystem;
using Series = std::vector<std::pair<int64_t, double>>;

// What log.jsonl holds, by curve.
struct Curves {
  Series train_loss, eval_loss, learning_rate;
  std::map<std::string, Series> eval_metrics;  // eval_accuracy, eval_f1, eval_bleu, ...
};

// Evaluation keys that measure speed or size rather than the model.
bool is_quality_metric(const std::string& key) {
  return key.rfind("eval_", 0) == 0 && key != "eval_loss" && key != "eval_runtime" &&
         key != "eval_samples_per_second" && key != "eval_steps_per_second" && key != "eval_samples";
}

Curves read_curves(const fs::path& log_jsonl) {
  std::ifstream file(log_jsonl);
  DTRAIN_CHECK(file.is_open(), "{}: cannot open: {}", log_jsonl.string(), std::strerror(errno));
  Curves curves;
  int64_t line_number = 0;
  for (std::string line; std::getline(file, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json entry;
    try {
      entry = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      DTRAIN_FAIL("{}:{}: not a JSON object: {}", log_jsonl.string(), line_number, e.what());
    }
    DTRAIN_CHECK(entry.is_object() && entry.contains("step") && entry["step"].is_number(),
                 "{}:{}: expected a log entry with a \"step\"", log_jsonl.string(), line_number);
    const auto step = entry["step"].get<int64_t>();
    for (const auto& [key, value] : entry.items()) {
      if (!value.is_number()) continue;
      const double number = value.get<double>();
      if (key == "loss") curves.train_loss.emplace_back(step, number);
      if (key == "learning_rate") curves.learning_rate.emplace_back(step, number);
      if (key == "eval_loss") curves.eval_loss.emplace_back(step, number);
      if (is_quality_metric(key)) curves.eval_metrics[key].emplace_back(step, number);
    }
  }
  DTRAIN_CHECK(!curves.train_loss.empty() || !curves.eval_loss.empty() || !curves.eval_metrics.empty(),
               "{}: no training or evaluation entries to plot (is logging_steps larger than the run?)",
               log_jsonl.string());
  return curves;
}

fs::path find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream folders(path ? path : "");
  for (std::string folder; std::getline(folders, folder, ':');) {
    const fs::path candidate = fs::path(folder.empty() ? "." : folder) / program;
    if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate;
  }
  return {};
}

// A private scratch folder for the data files and the script, removed with everything in it.
class ScratchFolder {
 public:
  ScratchFolder() {
    std::random_device random;
    path_ = fs::temp_directory_path() / fmt::format("dtrain-plot-{}-{:08x}", ::getpid(), random());
    fs::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A gnuplot single-quoted string: quotes are doubled, nothing else is special.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string write_series(const fs::path& file, const Series& series) {
  std::ofstream out(file);
  for (const auto& [step, value] : series) out << step << ' ' << fmt::format("{:.17g}", value) << '\n';
  DTRAIN_CHECK(out.good(), "{}: write failed", file.string());
  return quoted(file.string());
}

std::string gnuplot_script(const Curves& curves, const fs::path& data, const fs::path& png,
                           const std::string& title, const PlotOptions& options) {
  std::vector<std::string> panels;
  const auto plot_line = [](const std::string& file, const std::string& name, bool points) {
    return fmt::format("{} using 1:2 with {} title {}", file,
                       points ? "linespoints pt 7 ps 0.6" : "lines lw 2", quoted(name));
  };
  if (!curves.train_loss.empty() || !curves.eval_loss.empty()) {
    std::vector<std::string> lines;
    if (!curves.train_loss.empty()) {
      lines.push_back(plot_line(write_series(data / "loss.dat", curves.train_loss), "training loss",
                                curves.train_loss.size() < 2));
    }
    if (!curves.eval_loss.empty()) {
      lines.push_back(plot_line(write_series(data / "eval_loss.dat", curves.eval_loss), "eval_loss", true));
    }
    panels.push_back(
        fmt::format("set ylabel 'loss'\nset format y '%g'\nplot {}\n", fmt::join(lines, ", \\\n  ")));
  }
  if (!curves.learning_rate.empty()) {
    panels.push_back(fmt::format("set ylabel 'learning rate'\nset format y '%.1e'\nplot {}\n",
                                 plot_line(write_series(data / "learning_rate.dat", curves.learning_rate),
                                           "learning_rate", curves.learning_rate.size() < 2)));
  }
  if (!curves.eval_metrics.empty()) {
    std::vector<std::string> lines;
    int index = 0;
    for (const auto& [name, series] : curves.eval_metrics) {
      lines.push_back(
          plot_line(write_series(data / fmt::format("metric{}.dat", index++), series), name, true));
    }
    panels.push_back(
        fmt::format("set ylabel 'evaluation'\nset format y '%g'\nplot {}\n", fmt::join(lines, ", \\\n  ")));
  }
  // Every panel spans the whole run, with a margin after the last step so its points stay visible.
  int64_t last_step = 1;
  for (const Series* series : {&curves.train_loss, &curves.eval_loss, &curves.learning_rate}) {
    if (!series->empty()) last_step = std::max(last_step, series->back().first);
  }
  for (const auto& [name, series] : curves.eval_metrics) last_step = std::max(last_step, series.back().first);
  return fmt::format(
      "set terminal pngcairo size {},{} noenhanced font ',10'\n"
      "set output {}\n"
      "set multiplot layout {},1 title {}\n"
      "set grid\nset key top right\nset lmargin 12\nset xlabel 'step'\nset format x '%g'\nset xrange [0:{}]\n"
      "set offsets 0, 0, graph 0.05, graph 0.05\n"
      "{}unset multiplot\n",
      options.width, options.height, quoted(png.string()), panels.size(), quoted(title),
      last_step + std::max<int64_t>(1, last_step / 40), fmt::join(panels, ""));
}

// Runs gnuplot on `script`; its messages go to `messages`. Returns the exit status.
int run_gnuplot(const fs::path& gnuplot, const fs::path& script, const fs::path& messages) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, messages.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const std::string program = gnuplot.string(), script_path = script.string();
  char* argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>(script_path.c_str()), nullptr};
  pid_t child = 0;
  const int spawned = ::posix_spawn(&child, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  DTRAIN_CHECK(spawned == 0, "plot: cannot start {}: {}", program, std::strerror(spawned));
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    DTRAIN_CHECK(errno == EINTR, "plot: waiting for gnuplot failed: {}", std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void plot_training_curves(const fs::path& log_jsonl, const fs::path& png, const PlotOptions& options) {
  DTRAIN_CHECK(options.width > 0 && options.height > 0, "plot: the size must be positive, got {}x{}",
               options.width, options.height);
  const Curves curves = read_curves(log_jsonl);
  const fs::path gnuplot = find_on_path("gnuplot");
  DTRAIN_CHECK(
      !gnuplot.empty(),
      "plot: gnuplot is not installed (not found on PATH); install it, e.g. apt-get install gnuplot-nox "
      "(launch/setup.sh does), or view the run with TensorBoard (report_to: tensorboard)");

  const ScratchFolder scratch;
  if (png.has_parent_path()) fs::create_directories(png.parent_path());
  AtomicFile output(png);
  const fs::path run = fs::absolute(log_jsonl).parent_path();
  const fs::path script = scratch.path() / "plot.gnuplot";
  std::ofstream(script) << gnuplot_script(
      curves, scratch.path(), output.temporary_path(),
      run.filename().string() + " (" + log_jsonl.filename().string() + ")", options);
  const fs::path messages = scratch.path() / "gnuplot.txt";
  const int status = run_gnuplot(gnuplot, script, messages);
  std::ifstream message_file(messages);
  std::stringstream message_text;
  message_text << message_file.rdbuf();
  DTRAIN_CHECK(status == 0 && fs::file_size(output.temporary_path()) > 0,
               "plot: gnuplot failed (exit status {}): {}", status, message_text.str());
  output.commit();
}

}  // namespace dtrain::train::reporting
