#pragma once
// A PyTorch checkpoint written by torch.save (pytorch_model.bin): a state dict of tensors, read
// without running any of its pickle (see torch_pickle.h) and without copying its tensor data, which
// the views address in a memory map of the file.
//
// Both of torch.save's formats are read:
// - the zip archive (torch >= 1.6): <archive>/data.pkl, the storages as uncompressed records
//   <archive>/data/<key>, <archive>/byteorder; the container is read with LibTorch's
//   PyTorchStreamReader;
// - the legacy format (`_use_new_zipfile_serialization=False`, and hub checkpoints saved before
//   torch 1.6): magic number, protocol version and system info pickles, the state dict pickle, the
//   list of storage keys, then each storage as its element count and raw bytes.
#include <filesystem>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/hf/mapped_file.h"
#include "model/hf/tensor_file.h"

namespace dtrain::model {

class PytorchFile : public TensorFile {
 public:
  explicit PytorchFile(std::filesystem::path path);
  // Views point into the mapping and names are indexed by string_view: the object stays put.
  PytorchFile(const PytorchFile&) = delete;
  PytorchFile& operator=(const PytorchFile&) = delete;

  const std::filesystem::path& path() const override { return path_; }
  // In the state dict's order. Tensors that share a storage (tied weights) view the same bytes.
  const std::vector<TensorView>& tensors() const override { return tensors_; }
  const TensorView* find(std::string_view name) const;

 private:
  std::filesystem::path path_;
  MappedFile mapped_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string_view, const TensorView*> by_name_;
};

}  // namespace dtrain::model
