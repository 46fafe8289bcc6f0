#pragma once
// Tensors read in place from a weights file, whatever its format (safetensors, a PyTorch pickle
// archive): the common ground of the readers and of load_hf_weights, which copies from them.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dtrain::model {

// Element types a stored tensor may have, named as safetensors names them.
enum class SafetensorsDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

std::string_view dtype_name(SafetensorsDtype dtype);
size_t dtype_size(SafetensorsDtype dtype);
at::ScalarType scalar_type_of(SafetensorsDtype dtype);
std::optional<SafetensorsDtype> dtype_named(std::string_view name);  // "F32" -> kF32
std::optional<SafetensorsDtype> dtype_of(at::ScalarType scalar_type);

// One tensor inside a mapped file; `data` stays valid while the file it came from is alive.
struct TensorView {
  std::string name;
  SafetensorsDtype dtype;
  std::vector<int64_t> shape;
  const std::byte* data;  // the first element
  size_t size;            // bytes from the first element to the end of the last one
  // Element strides of a view that is not row-major contiguous (a pickled tensor may be a strided
  // view of its storage); empty for the usual contiguous layout.
  std::vector<int64_t> strides;

  int64_t numel() const;
  bool is_contiguous() const { return strides.empty(); }
};

// A file of stored tensors (SafetensorsFile, PytorchFile).
class TensorFile {
 public:
  virtual ~TensorFile() = default;
  virtual const std::filesystem::path& path() const = 0;
  virtual const std::vector<TensorView>& tensors() const = 0;
};

// An owning, contiguous copy of the view's data converted to `dtype` (e.g. F16/BF16 -> float32).
at::Tensor to_tensor(const TensorView& view, at::ScalarType dtype);
// Copies the view into `destination` (same number of elements), converting dtype as needed.
void copy_into(const TensorView& view, at::Tensor& destination);

}  // namespace dtrain::model
