#pragma once
// The stored weights of a Hugging Face model folder, in any of the layouts from_pretrained reads:
// model.safetensors, its shards listed by model.safetensors.index.json, pytorch_model.bin (torch.save,
// read without running its pickle), or its shards listed by pytorch_model.bin.index.json.
#include <filesystem>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/hf/tensor_file.h"

namespace dtrain::model {

class ModelWeights {
 public:
  // The weights of a model folder: the first of model.safetensors, model.safetensors.index.json,
  // pytorch_model.bin and pytorch_model.bin.index.json that exists, transformers' order of preference.
  static ModelWeights in_folder(const std::filesystem::path& folder);

  // One weights file (.safetensors; anything else is read as a torch.save file), or an index .json
  // ({"weight_map": {tensor name: shard file name}}) whose shards lie beside it.
  explicit ModelWeights(const std::filesystem::path& path);

  // Every tensor of every shard, shard by shard.
  std::vector<const TensorView*> tensors() const;
  const TensorView* find(std::string_view name) const;
  // The file holding `view`, for error messages.
  const std::filesystem::path& file_of(const TensorView& view) const;

 private:
  std::vector<std::unique_ptr<TensorFile>> shards_;
  std::unordered_map<std::string_view, std::pair<const TensorView*, size_t>> by_name_;
};

}  // namespace dtrain::model
