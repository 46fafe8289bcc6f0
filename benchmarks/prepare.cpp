// Throughput of `dtrain prepare` (rows/s, tokens/s at 1 and 2 threads) and of DatasetReader on
// shuffled batches of 32 (samples/s), on a GLUE single-sentence table.
// Usage: bench_prepare TOKENIZER_DIR TABLE.tsv TEXT_COLUMN LABEL_COLUMN SCRATCH_DIR
#include "data/dataset/prepare.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "data/dataset/dataset_reader.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Reads `batches` random batches of 32 and returns samples per second.
double read_rate(const dtrain::data::DatasetReader& reader, int batches, std::mt19937_64& random) {
  std::uniform_int_distribution<int64_t> pick(0, reader.num_samples() - 1);
  std::vector<int64_t> indices(32);
  int64_t checksum = 0;
  const auto start = Clock::now();
  for (int batch = 0; batch < batches; ++batch) {
    for (auto& index : indices) index = pick(random);
    checksum += reader.read(indices).input_ids.size();
  }
  const double rate = batches * 32.0 / seconds_since(start);
  if (checksum == 0) std::printf("(empty reads)\n");
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR TABLE.tsv TEXT_COLUMN LABEL_COLUMN SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  const auto tokenizer = dtrain::data::BertTokenizer::from_folder(argv[1]);
  dtrain::data::PrepareOptions options;
  options.input = argv[2];
  options.text_a = argv[3];
  options.label = argv[4];
  options.output = std::filesystem::path(argv[5]) / "bench_prepare.h5";

  std::printf("| step | threads | seconds | rows/s | tokens/s |\n|---|---|---|---|---|\n");
  for (int threads : {1, 2}) {
    options.threads = threads;
    const auto start = Clock::now();
    const auto summary = dtrain::data::prepare_dataset(options, tokenizer);
    const double elapsed = seconds_since(start);
    std::printf("| prepare %s (%lld rows, %lld tokens) | %d | %.2f | %.0f | %.0f |\n",
                options.input.filename().c_str(), static_cast<long long>(summary.rows),
                static_cast<long long>(summary.tokens), threads, elapsed, summary.rows / elapsed,
                summary.tokens / elapsed);
  }

  std::mt19937_64 random(1);
  const dtrain::data::DatasetReader reader(options.output);
  const double first = read_rate(reader, 500, random);  // chunk cache still filling
  const double steady = read_rate(reader, 20000, random);
  std::printf("\n| reader, random batches of 32 | samples/s |\n|---|---|\n");
  std::printf("| first 500 batches (cold cache) | %.0f |\n| next 20000 batches | %.0f |\n", first, steady);
  std::filesystem::remove(options.output);
  return 0;
}
