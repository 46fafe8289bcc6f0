// Single-threaded Marian tokenizer throughput: parallel text encoded as sources and targets (ids with
// "</s>", no truncation) and the target ids decoded back (skipping special tokens), with a folder
// from `dtrain train-tokenizer`, from the thread's CPU time and from wall time. The anchor, on the same
// folder and text, is `benchmarks/anchors.py marian FOLDER SRC TGT` (transformers' MarianTokenizer).
// Usage: bench_marian_tokenizer FOLDER SOURCE_FILE TARGET_FILE
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "data/tokenizers/tokenizer.h"

namespace {
namespace fs = std::filesystem;

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Median CPU and wall seconds of `repetitions` runs of `work`.
std::pair<double, double> median_seconds(int repetitions, const std::function<void()>& work) {
  std::vector<double> cpu, wall;
  for (int repetition = 0; repetition < repetitions; ++repetition) {
    const double cpu_start = thread_cpu_seconds();
    const auto wall_start = std::chrono::steady_clock::now();
    work();
    cpu.push_back(thread_cpu_seconds() - cpu_start);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
  }
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  return {cpu[repetitions / 2], wall[repetitions / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: bench_marian_tokenizer FOLDER SOURCE_FILE TARGET_FILE\n");
    return 2;
  }
  const auto tokenizer = dtrain::data::load_tokenizer(argv[1]);
  const auto sources = read_lines(argv[2]);
  const auto targets = read_lines(argv[3]);
  constexpr int kRepetitions = 5;
  constexpr int kNoTruncation = 1 << 30;

  std::size_t tokens = 0;
  std::vector<std::vector<int32_t>> labels(targets.size());
  const auto [encode_cpu, encode_wall] = median_seconds(kRepetitions, [&] {
    tokens = 0;
    for (const std::string& source : sources) tokens += tokenizer->encode(source, kNoTruncation).size();
    for (std::size_t i = 0; i < targets.size(); ++i) {
      labels[i] = tokenizer->encode_target(targets[i], kNoTruncation);
      tokens += labels[i].size();
    }
  });
  std::size_t characters = 0;
  const auto [decode_cpu, decode_wall] = median_seconds(kRepetitions, [&] {
    characters = 0;
    for (const auto& ids : labels) characters += tokenizer->decode(ids).size();
  });

  fmt::print("pairs {} tokens {} (sources and targets, </s> included), median of {} runs\n", sources.size(),
             tokens, kRepetitions);
  fmt::print("encode cpu : {:.3f} s  tokens/s {:.2f}M  pairs/s {:.0f}k\n", encode_cpu,
             tokens / encode_cpu / 1e6, sources.size() / encode_cpu / 1e3);
  fmt::print("encode wall: {:.3f} s  tokens/s {:.2f}M  pairs/s {:.0f}k\n", encode_wall,
             tokens / encode_wall / 1e6, sources.size() / encode_wall / 1e3);
  fmt::print("decode cpu : {:.3f} s  targets/s {:.0f}k ({} characters)\n", decode_cpu,
             targets.size() / decode_cpu / 1e3, characters);
  fmt::print("decode wall: {:.3f} s  targets/s {:.0f}k\n", decode_wall, targets.size() / decode_wall / 1e3);
}
