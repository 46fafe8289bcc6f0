// Format 2 against format 1 on the same data: file size, the cost of opening (format 2: checksum
// header + whole-file SHA-256; format 1: the child-process read of its metadata), SHA-256
// throughput, and random batches of 32 (samples/s) through DatasetReader.
// Usage: bench_dataset_format FORMAT2.h5 FORMAT1.h5
//   (FORMAT1.h5 from a dtrain before format 2, e.g. main's build, on the same table)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "common/sha256.h"
#include "data/dataset/dataset_reader.h"
#include "data/dataset/file_checksum.h"

namespace {

using Clock = std::chrono::steady_clock;
using dtrain::data::DatasetReader;
using dtrain::data::Verification;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Median of `repeats` timings of `action`, in seconds (the machine is shared).
template <class Action>
double median_seconds(int repeats, const Action& action) {
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    action();
    times.push_back(seconds_since(start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double read_rate(const DatasetReader& reader, int batches, std::mt19937_64& random) {
  std::uniform_int_distribution<int64_t> pick(0, reader.num_samples() - 1);
  std::vector<int64_t> indices(32);
  size_t checksum = 0;
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
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FORMAT2.h5 FORMAT1.h5\n", argv[0]);
    return 2;
  }
  const std::filesystem::path paths[2] = {argv[1], argv[2]};
  for (int format = 0; format < 2; ++format) {
    const auto& path = paths[format];
    const DatasetReader reader(path);
    std::printf("%s: format %d, %lld samples, %lld tokens, %.2f MB (%.2f bytes per token)\n", path.c_str(),
                reader.info().format_version, static_cast<long long>(reader.num_samples()),
                static_cast<long long>(reader.info().total_tokens), std::filesystem::file_size(path) / 1e6,
                static_cast<double>(std::filesystem::file_size(path)) / reader.info().total_tokens);
    std::printf("  open (as train does), median of 7: %.1f ms\n",
                1e3 * median_seconds(7, [&] { const DatasetReader opened(path); }));
    std::printf("  open + read every sample (as inspect does), median of 3: %.1f ms\n",
                1e3 * median_seconds(3, [&] {
                  const DatasetReader opened(path, Verification::everything);
                  std::vector<int64_t> all(static_cast<size_t>(opened.num_samples()));
                  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
                  static_cast<void>(opened.read(all));
                }));
    std::mt19937_64 random(1);
    static_cast<void>(read_rate(reader, 500, random));
    std::printf("  random batches of 32, 20000 after 500 warm-up: %.0f samples/s\n",
                read_rate(reader, 20000, random));
  }
  const double sha_seconds = median_seconds(
      9, [&] { static_cast<void>(dtrain::sha256_file_hex(paths[0], dtrain::data::kChecksumHeaderBytes)); });
  std::printf("SHA-256 of %s (page cache), median of 9: %.1f ms, %.2f GB/s\n", paths[0].c_str(),
              1e3 * sha_seconds, std::filesystem::file_size(paths[0]) / sha_seconds / 1e9);
  return 0;
}
