#include "dist/gradient_reducer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>

#include "common/error.h"

namespace dtrain::dist {
namespace {

bool is_embedding_table(const at::Tensor& parameter) {
  return parameter.dim() == 2 && parameter.size(0) >= kEmbeddingMinRows &&
         parameter.size(0) >= 8 * parameter.size(1);
}

// 1 for each row of `grad` [rows, width] holding a nonzero (or non-finite) value, else 0; fp32.
at::Tensor nonzero_rows(const at::Tensor& grad) {
  if (!grad.device().is_cpu() || !grad.is_contiguous()) return grad.ne(0).any(1).to(at::kFloat);
  // On the CPU a scan that stops at a row's first nonzero, with no [rows, width] temporary.
  at::Tensor mask = at::empty({grad.size(0)}, grad.options());
  const float* values = grad.data_ptr<float>();
  float* flags = mask.data_ptr<float>();
  const std::int64_t width = grad.size(1);
  at::parallel_for(0, grad.size(0), 256, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      const float* first = values + row * width;
      flags[row] = std::any_of(first, first + width, [](float v) { return v != 0.0f; }) ? 1.0f : 0.0f;
    }
  });
  return mask;
}

}  // namespace

GradientReducer::GradientReducer(std::vector<at::Tensor> parameters, Communicator& comm,
                                 ReducerOptions options)
    : parameters_(std::move(parameters)),
      comm_(comm),
      inverse_world_size_(1.0 / comm.size()),
      overlap_with_backward_(options.overlap_with_backward) {
  DTRAIN_ASSERT(!parameters_.empty(), "GradientReducer needs at least one parameter");
  DTRAIN_ASSERT(options.bucket_cap_mb > 0, "bucket_cap_mb must be positive, got {}", options.bucket_cap_mb);
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& parameter = parameters_[i];
    DTRAIN_ASSERT(parameter.is_leaf() && parameter.requires_grad() && parameter.scalar_type() == at::kFloat &&
                      parameter.device() == parameters_.front().device(),
                  "parameter {} must be an fp32 leaf requiring grad on {} (got {} on {})", i,
                  parameters_.front().device().str(), parameter.toString(), parameter.device().str());
  }
  comm_type_ = options.fp16_all_reduce ? at::kHalf : at::kFloat;
  assign_buckets(options.bucket_cap_mb, comm_type_);
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    // The hook captures the index, not the tensor: a tensor owning a hook that owns the tensor leaks.
    hook_handles_.push_back(
        parameters_[i].register_hook([this, i](const at::Tensor& grad) { on_gradient(i, grad); }));
  }
}

GradientReducer::~GradientReducer() {
  for (std::size_t i = 0; i < hook_handles_.size(); ++i) parameters_[i].remove_hook(hook_handles_[i]);
}

void GradientReducer::assign_buckets(double bucket_cap_mb, at::ScalarType comm_type) {
  const auto cap_bytes = static_cast<std::int64_t>(bucket_cap_mb * 1024 * 1024);
  const std::int64_t element_size = static_cast<std::int64_t>(c10::elementSize(comm_type));
  slots_.resize(parameters_.size());
  std::vector<std::int64_t> bucket_elements;
  for (std::size_t i = parameters_.size(); i-- > 0;) {
    if (is_embedding_table(parameters_[i])) {
      slots_[i].by_rows = true;
      by_rows_.insert(by_rows_.begin(), i);
      continue;
    }
    const std::int64_t numel = parameters_[i].numel();
    // A parameter that does not fit the open bucket starts a new one; one larger than the cap
    // therefore ends up alone.
    if (buckets_.empty() ||
        (bucket_elements.back() > 0 && (bucket_elements.back() + numel) * element_size > cap_bytes)) {
      buckets_.emplace_back();
      bucket_elements.push_back(0);
    }
    slots_[i] = Slot{buckets_.size() - 1, bucket_elements.back(), false, false};
    buckets_.back().parameters.push_back(i);
    bucket_elements.back() += numel;
  }
  const auto options = parameters_.front().options().dtype(comm_type).requires_grad(false);
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].flat = at::empty({bucket_elements[b]}, options);
    buckets_[b].unpacked = buckets_[b].parameters.size();
  }
}

void GradientReducer::set_sync(bool sync) {
  DTRAIN_ASSERT(std::none_of(slots_.begin(), slots_.end(), [](const Slot& slot) { return slot.packed; }),
                "set_sync() after a synchronising backward whose reduction has not finished (hint: call "
                "finish() first)");
  sync_ = sync;
}

void GradientReducer::on_gradient(std::size_t index, const at::Tensor& incoming) {
  if (!sync_) return;
  DTRAIN_ASSERT(!slots_[index].packed,
                "parameter {} received a second gradient before finish() (hint: set_sync(true) only for the "
                "last backward of a step, and call finish() after it)",
                index);
  if (single_rank() || slots_[index].by_rows) {
    slots_[index].packed = true;  // autograd accumulates it in .grad; nothing to copy now
    return;
  }
  pack(index, incoming);
  if (overlap_with_backward_) launch_completed_buckets(/*in_backward=*/true);
}

void GradientReducer::pack(std::size_t index, const at::Tensor& incoming) {
  // Autograd adds `incoming` to .grad only after this hook, so the final gradient is built here.
  const at::Tensor& accumulated = parameters_[index].grad();
  at::Tensor slot = slot_view(index);
  if (!incoming.defined() && !accumulated.defined()) {
    slot.zero_();
  } else {
    at::Tensor total = !accumulated.defined() ? incoming
                       : !incoming.defined()  ? accumulated
                                              : accumulated + incoming;
    // Divide before the sum: each rank's share stays in fp16 range whenever the average does.
    slot.copy_(total.reshape({-1}) * inverse_world_size_);
  }
  Slot& entry = slots_[index];
  entry.packed = true;
  --buckets_[entry.bucket].unpacked;
}

void GradientReducer::launch_completed_buckets(bool in_backward) {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].unpacked == 0) {
    Bucket& bucket = buckets_[next_bucket_++];
    bucket.work = comm_.start_all_reduce_sum(bucket.flat);
    stats_.bytes_communicated += static_cast<std::int64_t>(bucket.flat.nbytes());
    ++(in_backward ? stats_.buckets_launched_in_backward : stats_.buckets_launched_in_finish);
  }
}

void GradientReducer::reduce_by_rows() {
  if (by_rows_.empty()) return;
  std::vector<at::Tensor> masks;
  for (std::size_t index : by_rows_) {
    at::Tensor& grad = parameters_[index].mutable_grad();
    if (!grad.defined()) grad = at::zeros_like(parameters_[index], at::MemoryFormat::Contiguous);
    masks.push_back(nonzero_rows(grad));
  }
  const at::Tensor ranks_with_row = at::cat(masks);
  const auto wait_start = std::chrono::steady_clock::now();
  comm_.all_reduce_sum(ranks_with_row);
  stats_.bytes_communicated += static_cast<std::int64_t>(ranks_with_row.nbytes());

  struct Transfer {
    std::size_t parameter;
    at::Tensor rows;  // undefined: the whole table
    at::Tensor values;
    std::unique_ptr<PendingWork> work;
  };
  std::vector<Transfer> transfers;
  std::int64_t offset = 0;
  for (std::size_t index : by_rows_) {
    const at::Tensor& grad = parameters_[index].grad();
    const at::Tensor rows = ranks_with_row.narrow(0, offset, grad.size(0)).nonzero().squeeze(1);
    offset += grad.size(0);
    if (rows.numel() == 0) continue;  // zero on every rank: already averaged
    Transfer transfer{index, {}, {}, {}};
    if (2 * rows.numel() <= grad.size(0)) {
      transfer.rows = rows;
      transfer.values = (grad.index_select(0, rows) * inverse_world_size_).to(comm_type_);
    } else {
      transfer.values = (grad * inverse_world_size_).to(comm_type_);
    }
    transfer.work = comm_.start_all_reduce_sum(transfer.values);
    stats_.bytes_communicated += static_cast<std::int64_t>(transfer.values.nbytes());
    transfers.push_back(std::move(transfer));
  }
  for (Transfer& transfer : transfers) {
    transfer.work->wait();
    at::Tensor& grad = parameters_[transfer.parameter].mutable_grad();
    // Rows outside `rows` are zero here and on every rank: their average is already in place.
    if (transfer.rows.defined()) {
      grad.index_copy_(0, transfer.rows, transfer.values.to(grad.scalar_type()));
    } else {
      grad.copy_(transfer.values);
    }
  }
  stats_.comm_wait_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
}

at::Tensor GradientReducer::slot_view(std::size_t index) const {
  const Slot& slot = slots_[index];
  return buckets_[slot.bucket].flat.narrow(0, slot.offset, parameters_[index].numel());
}

bool GradientReducer::finish() {
  DTRAIN_ASSERT(sync_, "finish() without a synchronising backward (hint: call set_sync(true) before it)");
  sync_ = false;
  if (single_rank()) {
    // One rank's average is its own gradient: leaving it in .grad skips two conversions and fp16's
    // rounding, so a 1-rank run computes what a plain torch loop computes.
    for (at::Tensor& parameter : parameters_) {
      at::Tensor& grad = parameter.mutable_grad();
      if (!grad.defined()) grad = at::zeros_like(parameter, at::MemoryFormat::Contiguous);
    }
  } else {
    average_over_ranks();
  }
  for (Slot& slot : slots_) slot.packed = false;
  return all_finite_on_every_rank();
}

void GradientReducer::average_over_ranks() {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (!slots_[i].packed && !slots_[i].by_rows) pack(i, at::Tensor());
  }
  launch_completed_buckets(/*in_backward=*/false);
  // Its collectives queue behind every bucket's, in the same order on every rank.
  reduce_by_rows();

  const auto wait_start = std::chrono::steady_clock::now();
  for (Bucket& bucket : buckets_) bucket.work->wait();
  stats_.comm_wait_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();

  for (const Bucket& bucket : buckets_) {
    for (std::size_t index : bucket.parameters) {
      at::Tensor& grad = parameters_[index].mutable_grad();
      if (!grad.defined()) grad = at::empty_like(parameters_[index], at::MemoryFormat::Contiguous);
      // copy_ converts fp16 to fp32 on the way: one pass, no bucket-sized temporary.
      grad.copy_(bucket.flat.narrow(0, slots_[index].offset, grad.numel()).view(grad.sizes()));
    }
  }
  for (Bucket& bucket : buckets_) {
    bucket.work.reset();
    bucket.unpacked = bucket.parameters.size();
  }
  next_bucket_ = 0;
}

bool GradientReducer::all_finite_on_every_rank() {
  // A sum is non-finite when some element is inf or NaN; finite gradients do not overflow an fp32
  // sum (fp16 ones cannot; fp32 ones would need magnitudes near 1e31). No temporary.
  std::vector<at::Tensor> sums;
  for (const at::Tensor& parameter : parameters_) sums.push_back(parameter.grad().sum());
  // Ranks could in principle round an overflowing sum differently, so they vote: any rank seeing
  // a non-finite value makes the step skip everywhere.
  const at::Tensor votes = at::isfinite(at::stack(sums).sum()).logical_not().to(at::kFloat).reshape({1});
  comm_.all_reduce_sum(votes);
  return votes.item<float>() == 0.0f;
}

std::vector<std::vector<std::size_t>> GradientReducer::bucket_layout() const {
  std::vector<std::vector<std::size_t>> layout;
  for (const Bucket& bucket : buckets_) layout.push_back(bucket.parameters);
  return layout;
}

}  // namespace dtrain::dist
