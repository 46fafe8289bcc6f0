#pragma once
// What the end-to-end training tests read back from a run's output_dir, and the comparison of a run
// with its uninterrupted reference under fp16 all-reduce.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/hf/safetensors.h"

namespace dtrain::testing {

// Every entry of output_dir/log.jsonl, in order.
inline std::vector<nlohmann::json> log_entries(const std::filesystem::path& output_dir) {
  std::vector<nlohmann::json> entries;
  std::ifstream log(output_dir / "log.jsonl");
  for (std::string line; std::getline(log, line);) entries.push_back(nlohmann::json::parse(line));
  return entries;
}

// The per-step training losses of output_dir/log.jsonl, in order.
inline std::vector<double> logged_losses(const std::filesystem::path& output_dir) {
  std::vector<double> losses;
  for (const auto& entry : log_entries(output_dir)) {
    if (entry.contains("loss")) losses.push_back(entry["loss"].get<double>());
  }
  return losses;
}

inline size_t count_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

// `run` logged the losses of `reference` within fp16 all-reduce rounding (1e-3 relative), and its
// final weights are within 6e-3: Adam turns fp16 rounding of near-zero gradients into up to lr-sized
// steps (see test_train_ranks.cpp).
inline void expect_same_run_under_fp16(const std::filesystem::path& reference,
                                       const std::filesystem::path& run) {
  const auto expected = logged_losses(reference);
  const auto actual = logged_losses(run);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t step = 0; step < expected.size(); ++step) {
    EXPECT_NEAR(actual[step], expected[step], 1e-3 * expected[step]) << "step " << step + 1;
  }
  const model::SafetensorsFile reference_weights(reference / "model.safetensors"),
      run_weights(run / "model.safetensors");
  for (const auto& view : reference_weights.tensors()) {
    const auto* other = run_weights.find(view.name);
    ASSERT_NE(other, nullptr) << view.name;
    EXPECT_LE((model::to_tensor(view, at::kDouble) - model::to_tensor(*other, at::kDouble))
                  .abs()
                  .max()
                  .item<double>(),
              6e-3)
        << view.name;
  }
}

}  // namespace dtrain::testing
