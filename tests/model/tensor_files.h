#pragma once
// Exchanging tensors with the Python reference scripts: raw little-endian files plus a manifest.json
// ({name: {"dtype": "<f4" | "<i8", "shape": [...]}}) that numpy reads with np.fromfile.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace dtrain::testing {

// Collects the tensors of one case folder and writes the manifest at the end.
class TensorFolder {
 public:
  explicit TensorFolder(std::filesystem::path folder) : folder_(std::move(folder)) {
    std::filesystem::create_directories(folder_);
  }

  void add(const std::string& name, const at::Tensor& tensor) {
    const at::Tensor data = tensor.contiguous().cpu();
    const bool integer = data.scalar_type() == at::kLong;
    const at::Tensor stored = integer ? data : data.to(at::kFloat);
    std::ofstream out(folder_ / (name + ".bin"), std::ios::binary);
    out.write(static_cast<const char*>(stored.data_ptr()), static_cast<std::streamsize>(stored.nbytes()));
    manifest_[name] = {{"dtype", integer ? "<i8" : "<f4"}, {"shape", stored.sizes().vec()}};
  }

  void write_manifest() const {
    std::ofstream out(folder_ / "manifest.json");
    out << manifest_.dump();
  }

 private:
  std::filesystem::path folder_;
  nlohmann::json manifest_ = nlohmann::json::object();
};

// Reads a raw file of `shape` written by the reference; fails the test on a short file.
inline at::Tensor read_tensor(const std::filesystem::path& path, at::IntArrayRef shape,
                              at::ScalarType dtype = at::kFloat) {
  at::Tensor tensor = at::empty(shape, dtype);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(tensor.nbytes()));
  EXPECT_TRUE(in.good()) << "short read from " << path;
  return tensor;
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace dtrain::testing
