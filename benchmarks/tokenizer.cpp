// Single-threaded tokenizer throughput on the SST-2 training sentences (bert-base-uncased), from the
// thread's CPU time (robust on a shared machine) and from wall time.
// Usage: bench_tokenizer [shared data folder] (default: $DTRAIN_SHARED_DATA or ../shared/data)
// The Node anchor for the same text is tests/reference/bench_tokenizer.js.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "data/tokenizers/bert_tokenizer.h"

namespace {
namespace fs = std::filesystem;

std::vector<std::string> read_sst2_sentences(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<std::string> sentences;
  std::string line;
  std::getline(in, line);  // header: sentence<TAB>label
  while (std::getline(in, line)) sentences.push_back(line.substr(0, line.find('\t')));
  return sentences;
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("DTRAIN_SHARED_DATA");
  const fs::path shared = argc > 1 ? fs::path(argv[1]) : env ? fs::path(env) : fs::path("../shared/data");
  const auto tokenizer = dtrain::data::BertTokenizer::from_folder(shared / "vocab" / "bert-base-uncased");
  const auto sentences = read_sst2_sentences(shared / "glue" / "SST-2" / "train.tsv");

  constexpr int kRepetitions = 5;
  std::vector<double> cpu_seconds, wall_seconds;
  std::size_t tokens = 0;
  for (int repetition = 0; repetition < kRepetitions; ++repetition) {
    tokens = 0;
    const double cpu_start = thread_cpu_seconds();
    const auto wall_start = std::chrono::steady_clock::now();
    for (const std::string& sentence : sentences) tokens += tokenizer.tokenize(sentence).size();
    cpu_seconds.push_back(thread_cpu_seconds() - cpu_start);
    wall_seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
  }
  std::sort(cpu_seconds.begin(), cpu_seconds.end());
  std::sort(wall_seconds.begin(), wall_seconds.end());
  fmt::print("rows {} tokens {} (without [CLS]/[SEP]), median of {} runs\n", sentences.size(), tokens,
             kRepetitions);
  for (const auto& [clock, seconds] : {std::pair{"cpu ", cpu_seconds[kRepetitions / 2]},
                                       std::pair{"wall", wall_seconds[kRepetitions / 2]}}) {
    fmt::print("{}: {:.3f} s  tokens/s {:.2f}M  rows/s {:.0f}k\n", clock, seconds, tokens / seconds / 1e6,
               sentences.size() / seconds / 1e3);
  }
}
