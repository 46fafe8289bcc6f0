#pragma once
// Comparing two trained model.safetensors files tensor by tensor, as the step-by-step comparisons with
// Trainer and Seq2SeqTrainer end: the same tensors within a tolerance, and training having moved them
// well beyond it (so that agreement is not the initial weights agreeing with themselves).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "model/hf/safetensors.h"

namespace dtrain::testing {

// Largest absolute difference between `view` and the tensor of that name in `other` (a test failure
// when `other` has none).
inline double max_abs_difference(const model::TensorView& view, const model::SafetensorsFile& other) {
  const model::TensorView* match = other.find(view.name);
  EXPECT_NE(match, nullptr) << view.name;
  if (match == nullptr) return 0.0;
  return (model::to_tensor(view, at::kDouble) - model::to_tensor(*match, at::kDouble))
      .abs()
      .max()
      .item<double>();
}

// Every tensor of `expected` equals `actual`'s within `atol`, and the largest change of any tensor from
// `initial` exceeds `min_moved`.
inline void expect_same_trained_weights(const std::filesystem::path& expected_file,
                                        const std::filesystem::path& actual_file,
                                        const std::filesystem::path& initial_file, double atol,
                                        double min_moved) {
  const model::SafetensorsFile expected(expected_file), actual(actual_file), initial(initial_file);
  ASSERT_EQ(expected.tensors().size(), actual.tensors().size());
  double moved = 0;
  for (const auto& view : expected.tensors()) {
    EXPECT_LE(max_abs_difference(view, actual), atol) << view.name;
    moved = std::max(moved, max_abs_difference(view, initial));
  }
  EXPECT_GT(moved, min_moved);
}

}  // namespace dtrain::testing
