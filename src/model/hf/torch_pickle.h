#pragma once
// A restricted reader of the pickles torch.save writes: plain values, tuples, lists, dicts and
// OrderedDicts, and tensors as references into storages (persistent ids). Nothing in a pickle is ever
// run: the only globals it may name are those that rebuild tensors (torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter), torch's storage types (torch.FloatStorage, ...) and
// collections.OrderedDict. Any other global (os.system, builtins.eval, a model class...) is refused
// by name as soon as it is read, before anything is built from it.
//
// LibTorch's own unpickler (torch::jit::Unpickler) was not enough: it turns every OrderedDict into
// None, so it cannot read `torch.save(model.state_dict())`, and it resolves further globals of its own
// (torch.device, torch.jit._pickle.*, builtins.complex, ...) that a whitelist cannot exclude.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/hf/tensor_file.h"

namespace dtrain::model {

// A storage a pickle refers to: ('storage', torch.<Type>Storage, key, location, numel[, view]).
struct PickledStorage {
  std::string key;
  SafetensorsDtype dtype;
  int64_t numel;
};

// A tensor of a pickle: a view of its storage's elements.
struct PickledTensor {
  PickledStorage storage;
  int64_t storage_offset;  // in elements
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in elements
};

struct PickleValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  int64_t integer = 0;  // kBool, kInt
  double number = 0;    // kFloat
  std::string text;     // kString (str or bytes); kGlobal: "module.name"
  // kTuple and kList: the elements; kDict: key, value, key, value, ... in insertion order.
  std::vector<std::shared_ptr<PickleValue>> items;
  PickledStorage storage;  // kStorage
  PickledTensor tensor;    // kTensor
};
using PickleRef = std::shared_ptr<PickleValue>;

// "a str", "an int", "a dict", ... for error messages.
std::string describe(const PickleValue& value);

// Reads one pickle from `bytes`, starting at `*position` and leaving it just past the STOP opcode.
// `source` names the pickle in errors ("pytorch_model.bin (data.pkl)"). Throws dtrain::Error on a
// refused global, an unsupported or malformed opcode, or data that ends early.
PickleRef read_pickle(std::string_view bytes, size_t* position, const std::string& source);

// The top-level object of a state dict pickle: a dict or OrderedDict of str -> tensor, in pickled
// order. Throws dtrain::Error (naming `source` and the entry) for anything else.
std::vector<std::pair<std::string, PickledTensor>> state_dict_tensors(const PickleValue& root,
                                                                      const std::string& source);

}  // namespace dtrain::model
