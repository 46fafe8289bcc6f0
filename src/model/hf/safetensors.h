#pragma once
// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}, then the tensor bytes, offsets relative to the end of the
// header. Readers validate everything before handing out a view; the writer produces the layout
// transformers and the safetensors package expect.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/hf/mapped_file.h"

namespace dtrain::model {

enum class SafetensorsDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

std::string_view dtype_name(SafetensorsDtype dtype);
size_t dtype_size(SafetensorsDtype dtype);

// One tensor inside a mapped file; `data` stays valid while the file it came from is alive.
struct TensorView {
  std::string name;
  SafetensorsDtype dtype;
  std::vector<int64_t> shape;
  const std::byte* data;
  size_t size;  // bytes
};

// A validated, memory-mapped .safetensors file.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(std::filesystem::path path);
  // Views point into the mapping and names are indexed by string_view: the object stays put.
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // In data order (ascending offsets).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::filesystem::path path_;
  MappedFile mapped_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string_view, const TensorView*> by_name_;
  std::map<std::string, std::string> metadata_;
};

// The tensors of one checkpoint: a single .safetensors file, or the shards listed by a
// model.safetensors.index.json ({"weight_map": {tensor name: shard file name}}).
class SafetensorsCheckpoint {
 public:
  // `path` is a .safetensors file or an index .json.
  explicit SafetensorsCheckpoint(const std::filesystem::path& path);

  // Every tensor of every shard, shard by shard.
  std::vector<const TensorView*> tensors() const;
  const TensorView* find(std::string_view name) const;
  // The file holding `view`, for error messages.
  const std::filesystem::path& file_of(const TensorView& view) const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::unordered_map<std::string_view, std::pair<const TensorView*, size_t>> by_name_;
};

// An owning copy of the view's data converted to `dtype` (e.g. F16/BF16 -> float32).
at::Tensor to_tensor(const TensorView& view, at::ScalarType dtype);
// Copies the view into `destination` (same number of elements), converting dtype as needed.
void copy_into(const TensorView& view, at::Tensor& destination);

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

// Writes the tensors (any device, made contiguous) atomically to `path`, in the given order,
// with __metadata__ {"format": "pt"} and the header padded with spaces to 8-byte alignment.
void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors);

}  // namespace dtrain::model
