#pragma once
// The bridge from the torch-free data layer to the model: a collated Batch as tensors on a device.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "data/loading/collate.h"

namespace dtrain::tasks {

struct BatchTensors {
  at::Tensor input_ids;       // int64 [batch, seq]
  at::Tensor attention_mask;  // int64 [batch, seq]
  at::Tensor token_type_ids;  // int64 [batch, seq]
  at::Tensor labels;          // int64 [batch] (classification) or float32 [batch] (regression)
};

BatchTensors to_tensors(const data::Batch& batch, const c10::Device& device);

}  // namespace dtrain::tasks
