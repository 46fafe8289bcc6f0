// Single-threaded tokenizer throughput on the SST-2 training sentences (bert-base-uncased).
// Usage: bench_tokenizer [shared data folder] (default: $DTRAIN_SHARED_DATA or ../shared/data)
// The Node anchor for the same text is tests/reference/bench_tokenizer.js.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "data/bert_tokenizer.h"

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

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("DTRAIN_SHARED_DATA");
  const fs::path shared = argc > 1 ? fs::path(argv[1]) : env ? fs::path(env) : fs::path("../shared/data");
  const auto tokenizer = dtrain::data::BertTokenizer::from_folder(shared / "vocab" / "bert-base-uncased");
  const auto sentences = read_sst2_sentences(shared / "glue" / "SST-2" / "train.tsv");

  constexpr int kRepetitions = 5;
  std::vector<double> seconds;
  std::size_t tokens = 0;
  for (int repetition = 0; repetition < kRepetitions; ++repetition) {
    tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& sentence : sentences) tokens += tokenizer.tokenize(sentence).size();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[kRepetitions / 2];
  fmt::print("rows {} tokens {} (without [CLS]/[SEP]); median of {} runs {:.3f} s (best {:.3f} s)\n",
             sentences.size(), tokens, kRepetitions, median, seconds.front());
  fmt::print("tokens/s {:.2f}M  rows/s {:.0f}k\n", tokens / median / 1e6, sentences.size() / median / 1e3);
}
