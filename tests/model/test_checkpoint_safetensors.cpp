// The safetensors reader and writer against an independent Python implementation of the format,
// and the reader's validation of malformed files.
#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <fstream>

#include "model/checkpoint_test_support.h"
#include "model/hf/model_weights.h"
#include "model/hf/safetensors.h"

namespace dtrain::model {
namespace {
namespace fs = std::filesystem;
using dtrain::testing::run_safetensors_tool;
using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

std::string with_length_prefix(const std::string& header, const std::string& data) {
  uint64_t length = header.size();
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &length, 8);
  return bytes + header + data;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void expect_bit_identical(const at::Tensor& actual, const at::Tensor& expected, const std::string& name) {
  EXPECT_EQ(actual.scalar_type(), expected.scalar_type()) << name;
  EXPECT_EQ(actual.sizes(), expected.sizes()) << name;
  if (actual.sizes() != expected.sizes()) return;
  EXPECT_EQ(0, std::memcmp(actual.contiguous().data_ptr(), expected.contiguous().data_ptr(),
                           expected.numel() * expected.element_size()))
      << name;
}

TEST(Safetensors, ReadsEveryDtypeWrittenByPython) {
  ScratchDir dir;
  run_safetensors_tool("write-dtypes " + (dir / "dtypes.safetensors").string());
  SafetensorsFile file(dir / "dtypes.safetensors");
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const at::Tensor expected = (at::arange(6, at::kFloat) * 0.5 - 1.25).reshape({2, 3});
  for (const auto& [name, dtype] :
       {std::pair{"values_f32", SafetensorsDtype::kF32}, std::pair{"values_f16", SafetensorsDtype::kF16},
        std::pair{"values_bf16", SafetensorsDtype::kBF16}}) {
    const TensorView* view = file.find(name);
    ASSERT_NE(view, nullptr) << name;
    EXPECT_EQ(view->dtype, dtype);
    EXPECT_EQ(view->shape, (std::vector<int64_t>{2, 3}));
    expect_bit_identical(to_tensor(*view, at::kFloat), expected, name);
  }
  expect_bit_identical(to_tensor(*file.find("indices_i64"), at::kLong),
                       at::tensor(std::vector<int64_t>{0, -1, int64_t{1} << 40, 7}), "indices_i64");
  EXPECT_EQ(to_tensor(*file.find("empty_f32"), at::kFloat).sizes(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(file.find("missing"), nullptr);
}

TEST(Safetensors, WrittenFilesFollowTheFormatAndSurvivePythonRoundTrip) {
  ScratchDir dir;
  at::manual_seed(7);
  std::vector<NamedTensor> tensors = {
      {"z.first", at::randn({3, 5})},  // header order, not alphabetical, decides the layout
      {"half", at::randn({7}).to(at::kHalf)},
      {"brain", at::randn({2, 2}).to(at::kBFloat16)},
      {"ids", at::arange(5, at::kLong)},
      {"transposed", at::randn({4, 3}).t()},  // non-contiguous input is written contiguously
      {"scalar", at::scalar_tensor(2.5)},
  };
  write_safetensors(dir / "ours.safetensors", tensors);
  const std::string bytes = read_bytes(dir / "ours.safetensors");
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ(header_size % 8, 0u);
  EXPECT_LT(bytes.find("\"z.first\""), bytes.find("\"half\""));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1)
      << "the temporary file must be renamed away";

  // Python checks the layout rules and re-encodes every tensor with its own writer.
  run_safetensors_tool("rewrite " + (dir / "ours.safetensors").string() + " " +
                       (dir / "theirs.safetensors").string());
  for (const auto* name : {"ours.safetensors", "theirs.safetensors"}) {
    SafetensorsFile file(dir / name);
    ASSERT_EQ(file.tensors().size(), tensors.size());
    for (const auto& [tensor_name, tensor] : tensors)
      expect_bit_identical(to_tensor(*file.find(tensor_name), tensor.scalar_type()), tensor.contiguous(),
                           std::string(name) + ":" + tensor_name);
  }
}

TEST(Safetensors, ConvertsAndCopiesIntoExistingTensors) {
  ScratchDir dir;
  at::Tensor source = at::randn({3, 4}).to(at::kHalf);
  write_safetensors(dir / "f.safetensors", {{"w", source}});
  SafetensorsFile file(dir / "f.safetensors");
  at::Tensor destination = at::zeros({3, 4}, at::kFloat).requires_grad_();
  copy_into(*file.find("w"), destination);
  expect_bit_identical(destination.detach(), source.to(at::kFloat), "w");
}

TEST(Safetensors, ReadsShardedIndex) {
  ScratchDir dir;
  write_safetensors(dir / "a.safetensors", {{"x", at::ones({2})}});
  write_safetensors(dir / "b.safetensors", {{"y", at::zeros({3})}, {"z", at::ones({1})}});
  write_file(dir / "index.json",
             R"({"metadata": {}, "weight_map": {"x": "a.safetensors", "y": "b.safetensors",
                                     "z": "b.safetensors"}})");
  ModelWeights checkpoint(dir / "index.json");
  EXPECT_EQ(checkpoint.tensors().size(), 3u);
  ASSERT_NE(checkpoint.find("y"), nullptr);
  EXPECT_EQ(checkpoint.find("y")->shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(checkpoint.file_of(*checkpoint.find("x")), dir / "a.safetensors");

  write_file(dir / "missing.json", R"({"weight_map": {"x": "a.safetensors", "q": "a.safetensors"}})");
  EXPECT_DTRAIN_ERROR(ModelWeights(dir / "missing.json"), "tensor 'q' is listed in missing.json",
                      "missing from a.safetensors");
  write_file(dir / "escape.json", R"({"weight_map": {"x": "../a.safetensors"}})");
  EXPECT_DTRAIN_ERROR(ModelWeights(dir / "escape.json"), "must be a file name in the same folder");
  write_file(dir / "twice.json", R"({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})");
  write_safetensors(dir / "b.safetensors", {{"y", at::zeros({3})}, {"x", at::ones({1})}});
  EXPECT_DTRAIN_ERROR(ModelWeights(dir / "twice.json"), "tensor 'x' is stored twice");
}

// One malformed file per test: the error must name the file, the tensor and the problem.
class MalformedSafetensors : public ::testing::Test {
 protected:
  fs::path write(const std::string& bytes) {
    write_file(dir_ / "bad.safetensors", bytes);
    return dir_ / "bad.safetensors";
  }
  ScratchDir dir_;
};

TEST_F(MalformedSafetensors, TooShortForTheLength) {
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write("abc")), "bad.safetensors", "too short", "truncated");
}

TEST_F(MalformedSafetensors, HeaderLengthPastTheEnd) {
  std::string bytes = with_length_prefix(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "1234");
  bytes[0] = static_cast<char>(200);
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(bytes)), "bad.safetensors",
                      "header length 200 runs past the end");
}

TEST_F(MalformedSafetensors, TruncatedData) {
  std::string bytes =
      with_length_prefix(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "12345678");
  bytes.pop_back();
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(bytes)), "tensor 'a'",
                      "[0, 8] run past the end of the data (7 bytes)", "truncated");
}

TEST_F(MalformedSafetensors, OffsetsOutOfRange) {
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix(
                          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[100,104]}})", "1234"))),
                      "tensor 'a'", "[100, 104] run past the end");
}

TEST_F(MalformedSafetensors, OverlappingOffsets) {
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix(
                          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                              "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          "123456789012"))),
                      "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
}

TEST_F(MalformedSafetensors, GapAndTrailingBytes) {
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix(
                          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "12345678"))),
                      "data bytes [0, 4) before tensor 'a' belong to no tensor");
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix(
                          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "12345678"))),
                      "data bytes [4, 8) after the last tensor belong to no tensor");
}

TEST_F(MalformedSafetensors, ShapeDisagreesWithByteLength) {
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix(
                          R"({"a":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}})", "12345678"))),
                      "tensor 'a'", "needs 6 bytes but data_offsets [0, 8] span 8");
}

TEST_F(MalformedSafetensors, UnknownDtype) {
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix(
                          R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", "1"))),
                      "tensor 'a'", "unknown or unsupported dtype 'Q4'");
}

TEST_F(MalformedSafetensors, DuplicateNames) {
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix(
                          R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},
                              "a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                          "12"))),
                      "tensor 'a' appears twice");
}

TEST_F(MalformedSafetensors, HeaderNotAnObjectOrNotJson) {
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix("[1, 2]", ""))), "header is a JSON array");
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix("{\"a\": ", ""))), "header is not valid JSON");
  EXPECT_DTRAIN_ERROR(SafetensorsFile(write(with_length_prefix(
                          R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", ""))),
                      "tensor 'a': shape must hold non-negative integers, got -1");
}

TEST(SafetensorsWriter, MissingFolderIsAnError) {
  EXPECT_DTRAIN_ERROR(write_safetensors("/nonexistent-dtrain/x.safetensors", {{"a", at::ones({1})}}),
                      "folder /nonexistent-dtrain does not exist");
}

}  // namespace
}  // namespace dtrain::model
