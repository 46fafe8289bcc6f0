#include "model/hf/pytorch_file.h"

#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "common/error.h"
#include "model/hf/torch_pickle.h"

namespace dtrain::model {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kZipMagic("PK\x03\x04", 4);
// The legacy format's first pickle: protocol 2, then a 10-byte LONG1 holding 0x1950a86a20f9469cfc6c.
constexpr std::string_view kLegacyMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
constexpr int64_t kLegacyProtocolVersion = 1001;
// A zip local file header: signature, versions, flags, then the compression method at byte 8.
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCompressionMethodOffset = 8;

// The bytes of one storage inside the mapping.
struct StorageBytes {
  const std::byte* data;
  uint64_t size;
};
using StorageMap = std::map<std::string, StorageBytes>;

// PyTorchStreamReader reads the archive's directory through this, straight from the mapping.
class MappedReadAdapter : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit MappedReadAdapter(const MappedFile& file) : file_(file) {}
  size_t size() const override { return file_.size(); }
  size_t read(uint64_t position, void* buffer, size_t count, const char* /*what*/) const override {
    if (position >= file_.size()) return 0;
    count = std::min<uint64_t>(count, file_.size() - position);
    std::memcpy(buffer, file_.data() + position, count);
    return count;
  }

 private:
  const MappedFile& file_;
};

std::string_view as_text(const MappedFile& file) {
  return {reinterpret_cast<const char*>(file.data()), file.size()};
}

// Every storage the tensors refer to, once.
std::map<std::string, PickledStorage> storages_of(
    const std::vector<std::pair<std::string, PickledTensor>>& tensors) {
  std::map<std::string, PickledStorage> storages;
  for (const auto& [name, tensor] : tensors) storages.emplace(tensor.storage.key, tensor.storage);
  return storages;
}

uint64_t storage_bytes(const PickledStorage& storage) {
  return static_cast<uint64_t>(storage.numel) * dtype_size(storage.dtype);
}

std::vector<std::pair<std::string, PickledTensor>> read_zip(const fs::path& path, const MappedFile& mapped,
                                                            StorageMap& storages) {
  try {
    caffe2::serialize::PyTorchStreamReader archive(std::make_shared<MappedReadAdapter>(mapped));
    DTRAIN_CHECK(archive.hasRecord("data.pkl"),
                 "{}: a zip archive without data.pkl is not a torch.save checkpoint (a TorchScript archive "
                 "from torch.jit.save holds a module, not a state dict)",
                 path.string());
    if (archive.hasRecord("byteorder")) {
      const auto [data, size] = archive.getRecord("byteorder");
      const std::string byteorder(static_cast<const char*>(data.get()), size);
      DTRAIN_CHECK(byteorder == "little",
                   "{}: tensors are stored with byte order '{}'; dtrain reads little-endian", path.string(),
                   byteorder);
    }
    const auto [pickle, pickle_size] = archive.getRecord("data.pkl");
    size_t position = 0;
    const std::string source = path.string() + " (data.pkl)";
    const PickleRef root =
        read_pickle({static_cast<const char*>(pickle.get()), pickle_size}, &position, source);
    auto tensors = state_dict_tensors(*root, path.string());

    for (const auto& [key, storage] : storages_of(tensors)) {
      const std::string record = "data/" + key;
      if (storage.numel == 0) {
        storages.emplace(key, StorageBytes{nullptr, 0});
        continue;
      }
      DTRAIN_CHECK(archive.hasRecord(record), "{}: storage '{}' has no record {}", path.string(), key,
                   record);
      const uint64_t size = archive.getRecordSize(record);
      const uint64_t header = archive.getRecordHeaderOffset(record);
      const uint64_t offset = archive.getRecordOffset(record);
      DTRAIN_CHECK(header + kLocalHeaderSize <= mapped.size() && offset <= mapped.size() &&
                       size <= mapped.size() - offset,
                   "{}: record {} lies past the end of the file (truncated?)", path.string(), record);
      uint16_t method = 0;
      std::memcpy(&method, mapped.data() + header + kCompressionMethodOffset, 2);
      DTRAIN_CHECK(method == 0,
                   "{}: record {} is compressed; torch.save stores records uncompressed, so that they can be "
                   "read in place (load and save it again with torch.save)",
                   path.string(), record);
      DTRAIN_CHECK(size == storage_bytes(storage),
                   "{}: record {} has {} bytes, but its storage of {} {} needs {}", path.string(), record,
                   size, storage.numel, dtype_name(storage.dtype), storage_bytes(storage));
      storages.emplace(key, StorageBytes{mapped.data() + offset, size});
    }
    return tensors;
  } catch (const c10::Error& e) {
    DTRAIN_FAIL("{}: not a readable torch.save archive: {}", path.string(), e.what_without_backtrace());
  }
}

std::vector<std::pair<std::string, PickledTensor>> read_legacy(const fs::path& path, const MappedFile& mapped,
                                                               StorageMap& storages) {
  const std::string_view bytes = as_text(mapped);
  const std::string source = path.string();
  size_t position = kLegacyMagic.size();
  const PickleRef version = read_pickle(bytes, &position, source);
  DTRAIN_CHECK(version->kind == PickleValue::Kind::kInt && version->integer == kLegacyProtocolVersion,
               "{}: legacy torch.save protocol version is not {}", source, kLegacyProtocolVersion);
  const PickleRef system = read_pickle(bytes, &position, source);
  bool little_endian = false;
  for (size_t i = 0; system->kind == PickleValue::Kind::kDict && i + 1 < system->items.size(); i += 2)
    if (system->items[i]->text == "little_endian") little_endian = system->items[i + 1]->integer == 1;
  DTRAIN_CHECK(little_endian, "{}: was saved on a big-endian machine; dtrain reads little-endian data",
               source);

  const PickleRef root = read_pickle(bytes, &position, source);
  auto tensors = state_dict_tensors(*root, source);
  const std::map<std::string, PickledStorage> referenced = storages_of(tensors);
  const PickleRef keys = read_pickle(bytes, &position, source);
  DTRAIN_CHECK(keys->kind == PickleValue::Kind::kList, "{}: the storage key list is {}", source,
               describe(*keys));

  // The storages follow in the list's order, each as an int64 element count and its bytes.
  for (const auto& key_value : keys->items) {
    const std::string& key = key_value->text;
    const auto found = referenced.find(key);
    DTRAIN_CHECK(key_value->kind == PickleValue::Kind::kString && found != referenced.end(),
                 "{}: stored storage '{}' belongs to no tensor", source, key);
    int64_t count = 0;
    DTRAIN_CHECK(bytes.size() - position >= sizeof(count), "{}: storage '{}' is cut off (truncated file?)",
                 source, key);
    std::memcpy(&count, bytes.data() + position, sizeof(count));
    position += sizeof(count);
    const uint64_t size = storage_bytes(found->second);
    DTRAIN_CHECK(
        count == found->second.numel && size <= bytes.size() - position,
        "{}: storage '{}' should hold {} elements ({} bytes) but holds {} with {} bytes left in the file "
        "(truncated?)",
        source, key, found->second.numel, size, count, bytes.size() - position);
    storages.emplace(key, StorageBytes{mapped.data() + position, size});
    position += size;
  }
  for (const auto& [key, storage] : referenced)
    DTRAIN_CHECK(storages.count(key), "{}: storage '{}' is missing from the file", source, key);
  return tensors;
}

// The view of `tensor` inside its storage, after checking that it lies within it.
TensorView view_of(const fs::path& path, const std::string& name, const PickledTensor& tensor,
                   const StorageBytes& storage) {
  const SafetensorsDtype dtype = tensor.storage.dtype;
  const size_t element_size = dtype_size(dtype);
  int64_t numel = 1;
  int64_t last = tensor.storage_offset;  // index of the last element
  bool row_major = true;
  int64_t row_major_stride = 1;
  for (size_t dimension = tensor.shape.size(); dimension-- > 0;) {
    const int64_t size = tensor.shape[dimension];
    const int64_t stride = tensor.strides[dimension];
    DTRAIN_CHECK(size >= 0 && stride >= 0, "{}: tensor '{}' has a negative size or stride", path.string(),
                 name);
    int64_t reach = 0;
    DTRAIN_CHECK(!__builtin_mul_overflow(numel, size, &numel) &&
                     !__builtin_mul_overflow(std::max<int64_t>(size - 1, 0), stride, &reach) &&
                     !__builtin_add_overflow(last, reach, &last),
                 "{}: tensor '{}' is too large", path.string(), name);
    if (size > 1 && stride != row_major_stride) row_major = false;
    row_major_stride *= size;
  }
  TensorView view{name, dtype, tensor.shape, nullptr, 0, {}};
  if (numel == 0) return view;
  DTRAIN_CHECK(last < tensor.storage.numel,
               "{}: tensor '{}' reaches element {} of its storage '{}', which has {} elements", path.string(),
               name, last, tensor.storage.key, tensor.storage.numel);
  view.data = storage.data + tensor.storage_offset * element_size;
  view.size = static_cast<size_t>(last - tensor.storage_offset + 1) * element_size;
  if (!row_major) view.strides = tensor.strides;
  return view;
}

}  // namespace

PytorchFile::PytorchFile(fs::path path) : path_(std::move(path)), mapped_(path_) {
  const std::string_view bytes = as_text(mapped_);
  StorageMap storages;
  std::vector<std::pair<std::string, PickledTensor>> tensors;
  if (bytes.substr(0, kZipMagic.size()) == kZipMagic) {
    tensors = read_zip(path_, mapped_, storages);
  } else if (bytes.substr(0, kLegacyMagic.size()) == kLegacyMagic) {
    tensors = read_legacy(path_, mapped_, storages);
  } else {
    DTRAIN_FAIL("{}: not a PyTorch checkpoint (neither torch.save's zip archive nor its legacy format)",
                path_.string());
  }
  tensors_.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors)
    tensors_.push_back(view_of(path_, name, tensor, storages.at(tensor.storage.key)));
  for (const auto& tensor : tensors_) by_name_.emplace(tensor.name, &tensor);
}

const TensorView* PytorchFile::find(std::string_view name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : found->second;
}

}  // namespace dtrain::model
