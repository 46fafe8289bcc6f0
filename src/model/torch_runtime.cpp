#include "model/torch_runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/version.h>

namespace dtrain::model {

std::string torch_runtime_summary() {
  return fmt::format("LibTorch {}, {} intra-op threads, CUDA available: {}", TORCH_VERSION,
                     at::get_num_threads(), at::hasCUDA() ? "yes" : "no");
}

}  // namespace dtrain::model
