// NCCL backend. Uses only the CUDA runtime API and NCCL on raw data pointers, so it builds against
// any LibTorch (including a CPU-only one) and needs no c10/cuda headers. Assumption: dtrain runs
// its GPU work on CUDA's legacy default stream (LibTorch's default), which is what collectives are
// ordered against.
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "common/error.h"
#include "dist/job_abort.h"
#include "dist/mpi_check.h"
#include "dist/mpi_communicator.h"
#include "dist/nccl_communicator.h"
#include "dist/rank_activity.h"

namespace dtrain::dist {
namespace {

void check_cuda(cudaError_t code, const char* call, const char* file, int line) {
  if (code == cudaSuccess) return;
  throw Error(at_source(file, line,
                        fmt::format("{} failed: {} (hint: check CUDA_VISIBLE_DEVICES, that each rank's "
                                    "device index exists, and that the driver supports this CUDA runtime)",
                                    call, cudaGetErrorString(code))));
}

void check_nccl(ncclResult_t code, const char* call, const char* file, int line) {
  if (code == ncclSuccess) return;
  throw Error(at_source(file, line,
                        fmt::format("{} failed: {} (hint: rerun with NCCL_DEBUG=INFO; every rank must reach "
                                    "the same collectives, and the nodes must reach each other)",
                                    call, ncclGetErrorString(code))));
}

#define DTRAIN_CUDA_CHECK(call) check_cuda((call), #call, __FILE__, __LINE__)
#define DTRAIN_NCCL_CHECK(call) check_nccl((call), #call, __FILE__, __LINE__)

class CudaStream {
 public:
  CudaStream() { DTRAIN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~CudaStream() { cudaStreamDestroy(stream_); }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class CudaEvent {
 public:
  CudaEvent() { DTRAIN_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }
  ~CudaEvent() { cudaEventDestroy(event_); }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

class NcclComm {
 public:
  NcclComm(int size, const ncclUniqueId& id, int rank) {
    DTRAIN_NCCL_CHECK(ncclCommInitRank(&comm_, size, id, rank));
  }
  ~NcclComm() {
    if (!aborted_.load()) ncclCommDestroy(comm_);
  }
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  ncclComm_t get() const { return comm_; }

  // Makes NCCL's kernels and proxy threads give up on collectives that will never complete (a
  // peer failed); the communicator is unusable afterwards. From any thread, once.
  void abort() {
    if (!aborted_.exchange(true)) ncclCommAbort(comm_);
  }

 private:
  ncclComm_t comm_ = nullptr;
  std::atomic<bool> aborted_{false};
};

// Follows the collectives queued on the communication stream: each one counts as complete in
// RankActivity once its event has fired, so the health monitor sees which collective a rank is
// stuck in, although the host never blocks on NCCL. Polls NCCL for asynchronous errors (a peer
// that died, a broken network), which abort the communicator and the job with one line.
class NcclWatchdog {
 public:
  NcclWatchdog(NcclComm& comm, int device_index) : comm_(comm), device_index_(device_index) {
    thread_ = std::thread([this] { run(); });
  }
  ~NcclWatchdog() {
    stopping_.store(true);
    thread_.join();
  }
  NcclWatchdog(const NcclWatchdog&) = delete;
  NcclWatchdog& operator=(const NcclWatchdog&) = delete;

  void track(std::int64_t sequence, std::shared_ptr<CudaEvent> done) {
    std::lock_guard<std::mutex> lock(mutex_);
    in_flight_.push_back({sequence, std::move(done)});
  }

 private:
  struct InFlight {
    std::int64_t sequence;
    std::shared_ptr<CudaEvent> done;
  };

  void run() {
    if (cudaSetDevice(device_index_) != cudaSuccess) return fail("cudaSetDevice failed in the NCCL watchdog");
    while (!stopping_.load()) {
      ncclResult_t state = ncclSuccess;
      const ncclResult_t queried = ncclCommGetAsyncError(comm_.get(), &state);
      if (queried != ncclSuccess) state = queried;
      if (state != ncclSuccess && state != ncclInProgress) {
        const char* detail = ncclGetLastError(comm_.get());
        return fail(fmt::format("NCCL reported an asynchronous error: {}{}{}", ncclGetErrorString(state),
                                detail && *detail ? ": " : "", detail ? detail : ""));
      }
      if (!complete_finished()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Completes the collectives whose events fired, in order; false after a CUDA error.
  bool complete_finished() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!in_flight_.empty()) {
      const cudaError_t state = cudaEventQuery(in_flight_.front().done->get());
      if (state == cudaErrorNotReady) return true;
      if (state != cudaSuccess) {
        fail(fmt::format("a NCCL collective failed on the device: {}", cudaGetErrorString(state)));
        return false;
      }
      RankActivity::process().complete_collective(in_flight_.front().sequence);
      in_flight_.pop_front();
    }
    return true;
  }

  void fail(const std::string& problem) {
    const ActivitySnapshot activity = RankActivity::process().snapshot();
    log_fatal(
        fmt::format("{} at step {}, phase {}, {} collectives entered{} (hint: rerun with NCCL_DEBUG=INFO; "
                    "the other ranks' logs may name the rank that failed first)",
                    problem, activity.step, phase_name(activity.phase), activity.collectives_entered,
                    activity.waiting_sequence > 0
                        ? fmt::format(", waiting in collective #{} ({})", activity.waiting_sequence,
                                      collective_name(activity.waiting_kind))
                        : std::string()));
    comm_.abort();
    abort_job(1);
  }

  NcclComm& comm_;
  int device_index_;
  std::mutex mutex_;
  std::deque<InFlight> in_flight_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts once the members above exist
};

// Work queued on the communication stream; waiting orders the default stream after it without
// blocking the host. The tensor reference keeps its memory alive until then.
class NcclWork final : public PendingWork {
 public:
  NcclWork(at::Tensor tensor, cudaStream_t stream)
      : tensor_(std::move(tensor)), done_(std::make_shared<CudaEvent>()) {
    DTRAIN_CUDA_CHECK(cudaEventRecord(done_->get(), stream));
  }
  // Unwaited work (an error path) still orders the default stream after it before the tensor's
  // memory can go back to LibTorch's allocator, which only tracks the default stream.
  ~NcclWork() override {
    if (tensor_.defined()) cudaStreamWaitEvent(cudaStreamLegacy, done_->get(), 0);
  }
  void wait() override {
    DTRAIN_CUDA_CHECK(cudaStreamWaitEvent(cudaStreamLegacy, done_->get(), 0));
    tensor_ = at::Tensor();
  }
  const std::shared_ptr<CudaEvent>& done() const { return done_; }

 private:
  at::Tensor tensor_;
  std::shared_ptr<CudaEvent> done_;
};

ncclUniqueId shared_unique_id(const ProcessGroup& group) {
  ncclUniqueId id{};
  if (group.rank() == 0) DTRAIN_NCCL_CHECK(ncclGetUniqueId(&id));
  const CollectiveScope collective(CollectiveKind::kBroadcast, sizeof(id));
  DTRAIN_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, world_comm(group)));
  return id;
}

int set_device(int device_index) {
  DTRAIN_CUDA_CHECK(cudaSetDevice(device_index));
  return device_index;
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const ProcessGroup& group, int device_index)
      : device_index_(set_device(device_index)),
        host_(group),
        comm_(group.size(), shared_unique_id(group), group.rank()),
        watchdog_(comm_, device_index_),
        abort_on_job_abort_([this] { comm_.abort(); }) {}

  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }

  std::unique_ptr<PendingWork> start_all_reduce_sum(const at::Tensor& tensor) override {
    check_on_device(tensor, "all_reduce_sum");
    ncclDataType_t type = ncclFloat32;
    if (tensor.scalar_type() == at::kHalf) {
      type = ncclFloat16;
    } else {
      DTRAIN_ASSERT(tensor.scalar_type() == at::kFloat, "all_reduce_sum supports fp16 and fp32, not {}",
                    tensor.toString());
    }
    wait_for_default_stream();
    const std::int64_t sequence = RankActivity::process().enter_collective(
        CollectiveKind::kAllReduce, static_cast<std::int64_t>(tensor.nbytes()));
    DTRAIN_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                                    type, ncclSum, comm_.get(), stream_.get()));
    auto work = std::make_unique<NcclWork>(tensor, stream_.get());
    watchdog_.track(sequence, work->done());
    return work;
  }

  void broadcast(const at::Tensor& tensor, int root) override {
    check_on_device(tensor, "broadcast");
    wait_for_default_stream();
    const std::int64_t sequence = RankActivity::process().enter_collective(
        CollectiveKind::kBroadcast, static_cast<std::int64_t>(tensor.nbytes()));
    DTRAIN_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.nbytes(), ncclUint8, root,
                                    comm_.get(), stream_.get()));
    NcclWork work(tensor, stream_.get());
    watchdog_.track(sequence, work.done());
    work.wait();
  }

  // Host-side collectives (small metric buffers, barriers) go over MPI.
  void barrier() override { host_.barrier(); }
  std::vector<double> all_gather(const std::vector<double>& local) override {
    return host_.all_gather(local);
  }
  std::vector<double> gather(const std::vector<double>& local, int root) override {
    return host_.gather(local, root);
  }

 private:
  void check_on_device(const at::Tensor& tensor, const char* operation) const {
    DTRAIN_ASSERT(tensor.defined() && tensor.device().is_cuda() && tensor.device().index() == device_index_ &&
                      tensor.is_contiguous(),
                  "{} over NCCL needs a contiguous tensor on cuda:{} (got {} on {})", operation,
                  device_index_, tensor.defined() ? tensor.toString() : "undefined",
                  tensor.defined() ? tensor.device().str() : "-");
  }

  // The collective must see everything the default stream has queued so far (e.g. gradients).
  void wait_for_default_stream() {
    CudaEvent queued;
    DTRAIN_CUDA_CHECK(cudaEventRecord(queued.get(), cudaStreamLegacy));
    DTRAIN_CUDA_CHECK(cudaStreamWaitEvent(stream_.get(), queued.get(), 0));
  }

  int device_index_;
  MpiCommunicator host_;
  NcclComm comm_;
  NcclWatchdog watchdog_;
  AbortHook abort_on_job_abort_;  // a job aborted by the health monitor stops NCCL's kernels first
  CudaStream stream_;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const ProcessGroup& group, int device_index) {
  return std::make_unique<NcclCommunicator>(group, device_index);
}

}  // namespace dtrain::dist
