// All-reduce bandwidth of the MPI backend, in nccl-tests' columns, plus the two measurements
// behind its design: the fp16 sum kernel (F16C vs portable) and whether a reduction overlaps
// computation (communication thread vs MPI_Iallreduce).
//   mpirun -np 2 --oversubscribe --bind-to none build/benchmarks/bench_allreduce_torch [max_mb]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>

#include "dist/gradient_reducer.h"
#include "dist/half_sum.h"
#include "dist/mpi_check.h"
#include "dist/mpi_communicator.h"
#include "dist/process_group.h"

namespace {

using dtrain::dist::MpiCommunicator;
using dtrain::dist::ProcessGroup;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Mean seconds per call over `iterations`, after one warm-up call, synchronised across ranks.
double time_collective(MpiCommunicator& comm, int iterations, const std::function<void()>& call) {
  call();
  comm.barrier();
  const auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) call();
  comm.barrier();
  return seconds_since(start) / iterations;
}

void bandwidth_table(MpiCommunicator& comm, std::int64_t max_bytes) {
  if (comm.rank() == 0) {
    std::printf("| size (B) | count (elements) | type | time (us) | algbw (GB/s) | busbw (GB/s) |\n");
    std::printf("|---:|---:|---|---:|---:|---:|\n");
  }
  const double bus_factor = 2.0 * (comm.size() - 1) / comm.size();
  for (std::int64_t bytes = 4096; bytes <= max_bytes; bytes *= 4) {
    for (const auto type : {at::kHalf, at::kFloat}) {
      const std::int64_t count = bytes / static_cast<std::int64_t>(c10::elementSize(type));
      const at::Tensor tensor = at::full({count}, 1e-4, at::TensorOptions().dtype(type));
      // About 1 GB moved per measurement, at least 3 calls.
      const int iterations =
          static_cast<int>(std::max<std::int64_t>(3, std::min<std::int64_t>(200, (1 << 30) / bytes)));
      const double seconds = time_collective(comm, iterations, [&] { comm.all_reduce_sum(tensor); });
      const double algbw = static_cast<double>(bytes) / seconds / 1e9;
      if (comm.rank() == 0) {
        std::printf("| %ld | %ld | %s | %.1f | %.3f | %.3f |\n", static_cast<long>(bytes),
                    static_cast<long>(count), type == at::kHalf ? "half" : "float", seconds * 1e6, algbw,
                    algbw * bus_factor);
      }
    }
  }
}

void sum_kernel_throughput() {
  const std::size_t count = 16 << 20;
  std::vector<std::uint16_t> in(count, 0x3c00), inout(count, 0x3c00);
  for (const auto& [name, kernel] :
       {std::pair{"dispatched (F16C where available)", &dtrain::dist::add_half_into},
        std::pair{"portable (c10::Half)", &dtrain::dist::add_half_into_portable}}) {
    kernel(in.data(), inout.data(), count);
    const auto start = Clock::now();
    const int repeats = 10;
    for (int i = 0; i < repeats; ++i) kernel(in.data(), inout.data(), count);
    const double seconds = seconds_since(start) / repeats;
    std::printf("| %s | %.2f | %.2f |\n", name, seconds * 1e3, 4.0 * count / seconds / 1e9);
  }
}

// Multiplies matrices for about `target` seconds (calibrated once, then a fixed amount of work).
std::function<void()> compute_for(double target) {
  const at::Tensor a = at::randn({256, 256});
  int repeats = 1;
  for (;;) {
    const auto start = Clock::now();
    for (int i = 0; i < repeats; ++i) at::mm(a, a);
    if (seconds_since(start) >= target) break;
    repeats *= 2;
  }
  return [a, repeats] {
    for (int i = 0; i < repeats; ++i) at::mm(a, a);
  };
}

void overlap(MpiCommunicator& comm, MPI_Comm raw_comm, std::int64_t bytes) {
  const std::int64_t count = bytes / 4;
  const at::Tensor tensor = at::full({count}, 1e-4);
  const int iterations = 5;
  const double comm_alone = time_collective(comm, iterations, [&] { comm.all_reduce_sum(tensor); });
  const std::function<void()> compute = compute_for(comm_alone);
  const double compute_alone = time_collective(comm, iterations, compute);
  const double with_thread = time_collective(comm, iterations, [&] {
    auto work = comm.start_all_reduce_sum(tensor);
    compute();
    work->wait();
  });
  const double with_iallreduce = time_collective(comm, iterations, [&] {
    MPI_Request request = MPI_REQUEST_NULL;
    DTRAIN_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, tensor.data_ptr(), static_cast<int>(count), MPI_FLOAT,
                                    MPI_SUM, raw_comm, &request));
    compute();
    DTRAIN_MPI_CHECK(MPI_Wait(&request, MPI_STATUS_IGNORE));
  });
  if (comm.rank() == 0) {
    // Hidden: the share of the shorter of the two that the overlap saved.
    const auto hidden = [&](double total) {
      return 100.0 * (comm_alone + compute_alone - total) / std::min(comm_alone, compute_alone);
    };
    std::printf("| %.1f | %.1f | %.1f (%.0f%% hidden) | %.1f (%.0f%% hidden) |\n", comm_alone * 1e3,
                compute_alone * 1e3, with_thread * 1e3, hidden(with_thread), with_iallreduce * 1e3,
                hidden(with_iallreduce));
  }
}

// One training step of a 4-layer MLP (4 x 1024 x 1024 weights: 8 MiB of fp16 gradients, fp16
// buckets of 4 MiB) done four ways: backward alone; with the reducer starting buckets during
// backward; with the reducer starting them all in finish(); backward, then one all-reduce.
void reducer_step(MpiCommunicator& comm) {
  at::manual_seed(0);
  std::vector<at::Tensor> parameters;
  for (int layer = 0; layer < 4; ++layer) {
    parameters.push_back((at::randn({1024, 1024}) * 0.03).requires_grad_());
    parameters.push_back(at::zeros({1024}).requires_grad_());
  }
  const at::Tensor input = at::randn({64, 1024});
  const auto backward = [&] {
    for (at::Tensor& parameter : parameters) parameter.mutable_grad() = at::Tensor();
    at::Tensor hidden = input;
    for (std::size_t i = 0; i < parameters.size(); i += 2) {
      hidden = at::tanh(at::linear(hidden, parameters[i], parameters[i + 1]));
    }
    hidden.pow(2).mean().backward();
  };
  const int iterations = 5;
  const auto row = [&](const char* mode, double seconds, const std::string& waited) {
    if (comm.rank() == 0) std::printf("| %s | %.1f | %s |\n", mode, seconds * 1e3, waited.c_str());
  };
  row("backward alone", time_collective(comm, iterations, backward), "");
  for (const bool overlap : {true, false}) {
    dtrain::dist::GradientReducer reducer(parameters, comm, {4.0, true, overlap});
    const double seconds = time_collective(comm, iterations, [&] {
      reducer.set_sync(true);
      backward();
      if (!reducer.finish()) throw std::runtime_error("non-finite gradients");
    });
    // time_collective's warm-up call counts in the stats too.
    const double waited = reducer.stats().comm_wait_seconds / (iterations + 1);
    row(overlap ? "reducer, buckets start during backward" : "reducer, buckets start in finish()", seconds,
        std::to_string(static_cast<int>(waited * 1e3 + 0.5)));
  }
  const double reduce_after = time_collective(comm, iterations, [&] {
    backward();
    std::vector<at::Tensor> grads;
    for (at::Tensor& parameter : parameters) grads.push_back(parameter.grad().reshape({-1}));
    comm.all_reduce_sum(at::cat(grads).to(at::kHalf));
  });
  row("backward, then one all-reduce of all gradients", reduce_after, "");
}

}  // namespace

int main(int argc, char** argv) {
  // One intra-op thread per rank: ranks share the machine's cores, as in training.
  at::set_num_threads(1);
  const std::int64_t max_bytes = (argc > 1 ? std::atoll(argv[1]) : 256) << 20;
  try {
    ProcessGroup group;
    MpiCommunicator comm(group);
    if (comm.rank() == 0) std::printf("ranks: %d\n\n", comm.size());
    bandwidth_table(comm, max_bytes);
    const std::int64_t overlap_bytes = std::min<std::int64_t>(64 << 20, max_bytes);
    if (comm.rank() == 0) {
      std::printf(
          "\n| fp16 sum kernel, 16 Mi elements | time (ms) | GB/s (both inputs) |\n|---|---:|---:|\n");
      sum_kernel_throughput();
      std::printf(
          "\n| all-reduce %ld MiB fp32 alone (ms) | compute alone (ms) | comm thread + compute (ms) | "
          "MPI_Iallreduce + compute (ms) |\n|---:|---:|---:|---:|\n",
          static_cast<long>(overlap_bytes >> 20));
    }
    overlap(comm, world_comm(group), overlap_bytes);
    if (comm.rank() == 0) {
      std::printf("\n| one step, 2 ranks | time (ms) | finish() waited (ms) |\n|---|---:|---:|\n");
    }
    reducer_step(comm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_allreduce_torch: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return 0;
}
