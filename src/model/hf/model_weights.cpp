#include "model/hf/model_weights.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>

#include "common/error.h"
#include "model/hf/pytorch_file.h"
#include "model/hf/safetensors.h"

namespace dtrain::model {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kWeightFiles[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                    "pytorch_model.bin.index.json"};

std::unique_ptr<TensorFile> open_weights_file(const fs::path& path) {
  if (path.extension() == ".safetensors") return std::make_unique<SafetensorsFile>(path);
  return std::make_unique<PytorchFile>(path);
}

}  // namespace

ModelWeights ModelWeights::in_folder(const fs::path& folder) {
  DTRAIN_CHECK(fs::is_directory(folder), "model folder {} does not exist", folder.string());
  for (const char* name : kWeightFiles)
    if (fs::exists(folder / name)) return ModelWeights(folder / name);
  DTRAIN_FAIL(
      "{} holds no model weights: none of model.safetensors, model.safetensors.index.json, "
      "pytorch_model.bin, pytorch_model.bin.index.json",
      folder.string());
}

ModelWeights::ModelWeights(const fs::path& path) {
  if (path.extension() != ".json") {
    shards_.push_back(open_weights_file(path));
  } else {
    std::ifstream in(path);
    DTRAIN_CHECK(in, "cannot open {}", path.string());
    json index;
    try {
      index = json::parse(in);
    } catch (const json::exception& e) {
      DTRAIN_FAIL("{}: not valid JSON: {}", path.string(), e.what());
    }
    DTRAIN_CHECK(index.is_object() && index.contains("weight_map") && index.at("weight_map").is_object(),
                 "{}: expected an object with a \"weight_map\" object (tensor name -> shard file)",
                 path.string());
    std::map<std::string, std::vector<std::string>> names_by_shard;
    for (const auto& [name, shard] : index.at("weight_map").items()) {
      DTRAIN_CHECK(shard.is_string(), "{}: weight_map entry '{}' is not a file name", path.string(), name);
      const auto shard_name = shard.get<std::string>();
      // Shards live beside the index; a path elsewhere would let a checkpoint read arbitrary files.
      DTRAIN_CHECK(fs::path(shard_name).filename() == shard_name && shard_name != "..",
                   "{}: shard '{}' of tensor '{}' must be a file name in the same folder", path.string(),
                   shard_name, name);
      names_by_shard[shard_name].push_back(name);
    }
    for (const auto& [shard_name, names] : names_by_shard) {
      shards_.push_back(open_weights_file(path.parent_path() / shard_name));
      std::unordered_set<std::string_view> stored;
      for (const auto& tensor : shards_.back()->tensors()) stored.insert(tensor.name);
      for (const auto& name : names)
        DTRAIN_CHECK(stored.count(name), "{}: tensor '{}' is listed in {} but missing from {}", path.string(),
                     name, path.filename().string(), shard_name);
    }
  }
  for (size_t shard = 0; shard < shards_.size(); ++shard) {
    for (const auto& tensor : shards_[shard]->tensors()) {
      auto [existing, inserted] = by_name_.emplace(tensor.name, std::pair{&tensor, shard});
      DTRAIN_CHECK(inserted, "tensor '{}' is stored twice: in {} and {}", tensor.name,
                   shards_[existing->second.second]->path().string(), shards_[shard]->path().string());
    }
  }
}

std::vector<const TensorView*> ModelWeights::tensors() const {
  std::vector<const TensorView*> result;
  for (const auto& shard : shards_)
    for (const auto& tensor : shard->tensors()) result.push_back(&tensor);
  return result;
}

const TensorView* ModelWeights::find(std::string_view name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : found->second.first;
}

const fs::path& ModelWeights::file_of(const TensorView& view) const {
  return shards_.at(by_name_.at(view.name).second)->path();
}

}  // namespace dtrain::model
