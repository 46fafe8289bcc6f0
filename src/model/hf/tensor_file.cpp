#include "model/hf/tensor_file.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstring>

#include "common/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "stored tensors are little-endian; the readers copy bytes as they are"
#endif

namespace dtrain::model {
namespace {

struct DtypeInfo {
  SafetensorsDtype dtype;
  std::string_view name;
  size_t size;
  at::ScalarType scalar_type;
};

constexpr DtypeInfo kDtypes[] = {
    {SafetensorsDtype::kF64, "F64", 8, at::kDouble}, {SafetensorsDtype::kF32, "F32", 4, at::kFloat},
    {SafetensorsDtype::kF16, "F16", 2, at::kHalf},   {SafetensorsDtype::kBF16, "BF16", 2, at::kBFloat16},
    {SafetensorsDtype::kI64, "I64", 8, at::kLong},   {SafetensorsDtype::kI32, "I32", 4, at::kInt},
    {SafetensorsDtype::kI16, "I16", 2, at::kShort},  {SafetensorsDtype::kI8, "I8", 1, at::kChar},
    {SafetensorsDtype::kU8, "U8", 1, at::kByte},     {SafetensorsDtype::kBool, "BOOL", 1, at::kBool},
};

const DtypeInfo& info(SafetensorsDtype dtype) {
  for (const auto& entry : kDtypes)
    if (entry.dtype == dtype) return entry;
  DTRAIN_ASSERT(false, "unhandled stored dtype {}", static_cast<int>(dtype));
}

// A tensor over the view's bytes, without copying (strided when the view is).
at::Tensor view_tensor(const TensorView& view) {
  const auto options = at::TensorOptions().dtype(scalar_type_of(view.dtype));
  // The bytes belong to a read-only mapping; every caller copies out of this tensor, never into it.
  void* data = const_cast<std::byte*>(view.data);
  return view.is_contiguous() ? at::from_blob(data, view.shape, options)
                              : at::from_blob(data, view.shape, view.strides, options);
}

}  // namespace

std::string_view dtype_name(SafetensorsDtype dtype) {
  return info(dtype).name;
}
size_t dtype_size(SafetensorsDtype dtype) {
  return info(dtype).size;
}
at::ScalarType scalar_type_of(SafetensorsDtype dtype) {
  return info(dtype).scalar_type;
}

std::optional<SafetensorsDtype> dtype_named(std::string_view name) {
  for (const auto& entry : kDtypes)
    if (entry.name == name) return entry.dtype;
  return std::nullopt;
}

std::optional<SafetensorsDtype> dtype_of(at::ScalarType scalar_type) {
  for (const auto& entry : kDtypes)
    if (entry.scalar_type == scalar_type) return entry.dtype;
  return std::nullopt;
}

int64_t TensorView::numel() const {
  int64_t count = 1;
  for (int64_t dimension : shape) count *= dimension;
  return count;
}

at::Tensor to_tensor(const TensorView& view, at::ScalarType dtype) {
  at::Tensor stored;
  if (view.numel() == 0) {
    stored = at::empty(view.shape, at::TensorOptions().dtype(scalar_type_of(view.dtype)));
  } else if (view.is_contiguous()) {
    stored = at::empty(view.shape, at::TensorOptions().dtype(scalar_type_of(view.dtype)));
    std::memcpy(stored.data_ptr(), view.data, view.size);
  } else {
    stored = view_tensor(view).contiguous();
  }
  return stored.scalar_type() == dtype ? stored : stored.to(dtype);
}

void copy_into(const TensorView& view, at::Tensor& destination) {
  DTRAIN_ASSERT(destination.numel() == view.numel(), "tensor '{}' has {} elements, destination has {}",
                view.name, view.numel(), destination.numel());
  if (view.numel() == 0) return;
  c10::NoGradGuard no_grad;
  if (view.is_contiguous() && destination.is_cpu() && destination.is_contiguous() &&
      destination.scalar_type() == scalar_type_of(view.dtype)) {
    std::memcpy(destination.data_ptr(), view.data, view.size);
    return;
  }
  // copy_ converts dtype and layout in one pass, straight from the mapped bytes.
  destination.copy_(view_tensor(view).reshape(destination.sizes()));
}

}  // namespace dtrain::model
