// Loader throughput per rank: shuffled training micro-batches and evaluation batches of 32 from a
// synthetic GLUE-sized dataset (default 100k samples of 10-60 tokens) that rank 0 writes to /tmp.
//   mpirun -np 2 --oversubscribe --bind-to none build/benchmarks/bench_loader [num_samples]
#include "data/loader.h"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "data/dataset_writer.h"
#include "data/deterministic_random.h"

namespace {

using namespace dtrain::data;
using Clock = std::chrono::steady_clock;

constexpr int64_t kBatchSize = 32;
constexpr int kVocabSize = 30522;

void write_dataset(const std::filesystem::path& path, int64_t num_samples) {
  DatasetWriter writer(path, TaskType::classification, kVocabSize);
  SplitMix64 random(1);
  for (int64_t i = 0; i < num_samples; ++i) {
    Encoding encoding;
    const auto length = static_cast<size_t>(10 + random.below(51));
    for (size_t t = 0; t < length; ++t) {
      encoding.input_ids.push_back(static_cast<int32_t>(random.below(kVocabSize)));
      encoding.token_type_ids.push_back(t < length / 2 ? 0 : 1);
    }
    writer.add(encoding, static_cast<int64_t>(random.below(2)));
  }
  DatasetInfo info;
  info.num_labels = 2;
  info.vocab_size = kVocabSize;
  info.max_length = 60;
  writer.commit(info);
}

// Samples/s of one pass, as the slowest rank and the mean over ranks.
void report(const char* what, int64_t samples, double seconds, int rank, int world) {
  double rate = static_cast<double>(samples) / seconds, slowest = 0, total = 0;
  MPI_Reduce(&rate, &slowest, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
  MPI_Reduce(&rate, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("%-6s ranks=%d samples/rank=%lld  samples/s per rank: slowest %.0f, mean %.0f\n", what, world,
                static_cast<long long>(samples), slowest, total / world);
  }
}

void run(int64_t num_samples, int rank, int world) {
  // The same path on every rank: rank 0's pid, broadcast.
  int owner_pid = static_cast<int>(getpid());
  MPI_Bcast(&owner_pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("dtrain-bench-loader-" + std::to_string(owner_pid) + ".h5");
  if (rank == 0) write_dataset(path, num_samples);
  MPI_Barrier(MPI_COMM_WORLD);
  {
    const DatasetReader reader(path);
    const BatchGeometry geometry{kBatchSize, 1, world};
    const TrainSampler sampler(num_samples, geometry.global_batch_size(), SamplerOptions{});
    MPI_Barrier(MPI_COMM_WORLD);
    auto start = Clock::now();
    TrainLoader train(reader, sampler, geometry, rank, initial_position(sampler), LoaderOptions{});
    int64_t loaded = 0;
    for (int64_t step = 0; step < sampler.steps_per_epoch(); ++step) {
      for (const LoadedBatch& micro_batch : train.next().micro_batches)
        loaded += micro_batch.batch.batch_size;
    }
    report("train", loaded, std::chrono::duration<double>(Clock::now() - start).count(), rank, world);

    MPI_Barrier(MPI_COMM_WORLD);
    start = Clock::now();
    EvalLoader eval(reader, rank, world, kBatchSize, LoaderOptions{});
    loaded = 0;
    while (auto batch = eval.next()) loaded += batch->batch.batch_size;
    report("eval", loaded, std::chrono::duration<double>(Clock::now() - start).count(), rank, world);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) std::filesystem::remove(path);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  int status = 0;
  try {
    run(argc > 1 ? std::stoll(argv[1]) : 100000, rank, world);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_loader: error: %s\n", error.what());
    status = 1;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return status;
}
