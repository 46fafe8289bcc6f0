#include "tasks/batch_tensors.h"

#include <ATen/Functions.h>

namespace dtrain::tasks {
namespace {

// Copies (from_blob does not own) so the tensors outlive the loader's buffers; on CUDA the copy is
// the host-to-device transfer itself.
template <class T>
at::Tensor copy_to(const std::vector<T>& values, at::IntArrayRef shape, at::ScalarType dtype,
                   const c10::Device& device) {
  auto host = at::from_blob(const_cast<T*>(values.data()), shape, at::TensorOptions().dtype(dtype));
  return device.is_cpu() ? host.clone() : host.to(device);
}

}  // namespace

BatchTensors to_tensors(const data::Batch& batch, const c10::Device& device) {
  const std::vector<int64_t> shape{batch.batch_size, batch.seq_len};
  BatchTensors tensors;
  tensors.input_ids = copy_to(batch.input_ids, shape, at::kLong, device);
  tensors.attention_mask = copy_to(batch.attention_mask, shape, at::kLong, device);
  tensors.token_type_ids = copy_to(batch.token_type_ids, shape, at::kLong, device);
  if (!batch.regression_labels.empty()) {
    tensors.labels = copy_to(batch.regression_labels, {batch.batch_size}, at::kFloat, device);
  } else {
    tensors.labels = copy_to(batch.class_labels, {batch.batch_size}, at::kLong, device);
  }
  return tensors;
}

}  // namespace dtrain::tasks
