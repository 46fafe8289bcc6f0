#pragma once
// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}, then the tensor bytes, offsets relative to the end of the
// header. Readers validate everything before handing out a view; the writer produces the layout
// transformers and the safetensors package expect.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/hf/mapped_file.h"
#include "model/hf/tensor_file.h"

namespace dtrain::model {

// A validated, memory-mapped .safetensors file.
class SafetensorsFile : public TensorFile {
 public:
  explicit SafetensorsFile(std::filesystem::path path);
  // Views point into the mapping and names are indexed by string_view: the object stays put.
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const override { return path_; }
  // In data order (ascending offsets).
  const std::vector<TensorView>& tensors() const override { return tensors_; }
  const TensorView* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::filesystem::path path_;
  MappedFile mapped_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string_view, const TensorView*> by_name_;
  std::map<std::string, std::string> metadata_;
};

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

// Writes the tensors (any device, made contiguous) atomically to `path`, in the given order,
// with __metadata__ {"format": "pt"} and the header padded with spaces to 8-byte alignment.
void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors);

}  // namespace dtrain::model
