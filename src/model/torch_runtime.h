#pragma once
// LibTorch runtime facts, reported by `dtrain info` (kept here so the app need not include torch).
#include <string>

namespace dtrain::model {

// "LibTorch <version>, <n> intra-op threads, CUDA available: yes/no".
std::string torch_runtime_summary();

}  // namespace dtrain::model
