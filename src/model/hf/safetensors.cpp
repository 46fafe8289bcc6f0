#include "model/hf/safetensors.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader copies bytes as they are"
#endif

namespace dtrain::model {
namespace fs = std::filesystem;
using nlohmann::json;

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
  DTRAIN_ASSERT(false, "unhandled safetensors dtype {}", static_cast<int>(dtype));
}

// The specification caps the header at 100 MB so that a corrupt length cannot ask for gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Parses the header JSON, rejecting duplicate tensor names (which nlohmann would silently merge).
json parse_header(const fs::path& path, const char* begin, const char* end) {
  std::set<std::string> names;
  std::string duplicate;
  auto detect_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second &&
        duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, detect_duplicates);
  } catch (const json::exception& e) {
    DTRAIN_FAIL("{}: header is not valid JSON: {}", path.string(), e.what());
  }
  DTRAIN_CHECK(duplicate.empty(), "{}: tensor '{}' appears twice in the header", path.string(), duplicate);
  DTRAIN_CHECK(header.is_object(), "{}: header is a JSON {}, expected an object of tensors", path.string(),
               header.type_name());
  return header;
}

std::map<std::string, std::string> parse_metadata(const fs::path& path, const json& metadata) {
  DTRAIN_CHECK(metadata.is_object(), "{}: __metadata__ must be an object of strings", path.string());
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    DTRAIN_CHECK(value.is_string(), "{}: __metadata__ value '{}' is not a string", path.string(), key);
    result.emplace(key, value.get<std::string>());
  }
  return result;
}

SafetensorsDtype parse_dtype(const fs::path& path, const std::string& name, const json& entry) {
  const json* dtype = entry.contains("dtype") ? &entry.at("dtype") : nullptr;
  DTRAIN_CHECK(dtype && dtype->is_string(), "{}: tensor '{}' has no dtype string", path.string(), name);
  for (const auto& known : kDtypes)
    if (known.name == dtype->get<std::string>()) return known.dtype;
  DTRAIN_FAIL(
      "{}: tensor '{}' has unknown or unsupported dtype '{}' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 "
      "BOOL)",
      path.string(), name, dtype->get<std::string>());
}

std::vector<uint64_t> parse_unsigned_array(const fs::path& path, const std::string& name, const json& entry,
                                           const char* field) {
  DTRAIN_CHECK(entry.contains(field) && entry.at(field).is_array(), "{}: tensor '{}' has no {} array",
               path.string(), name, field);
  std::vector<uint64_t> values;
  for (const auto& value : entry.at(field)) {
    DTRAIN_CHECK(value.is_number_unsigned(), "{}: tensor '{}': {} must hold non-negative integers, got {}",
                 path.string(), name, field, value.dump());
    values.push_back(value.get<uint64_t>());
  }
  return values;
}

struct HeaderEntry {
  std::string name;
  SafetensorsDtype dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

HeaderEntry parse_entry(const fs::path& path, const std::string& name, const json& entry) {
  DTRAIN_CHECK(entry.is_object(), "{}: tensor '{}' is described by a JSON {}, expected an object",
               path.string(), name, entry.type_name());
  HeaderEntry result{name, parse_dtype(path, name, entry), {}, 0, 0};
  uint64_t bytes = dtype_size(result.dtype);
  for (uint64_t dimension : parse_unsigned_array(path, name, entry, "shape")) {
    DTRAIN_CHECK(!__builtin_mul_overflow(bytes, dimension, &bytes), "{}: tensor '{}': shape is too large",
                 path.string(), name);
    result.shape.push_back(static_cast<int64_t>(dimension));
  }
  auto offsets = parse_unsigned_array(path, name, entry, "data_offsets");
  DTRAIN_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1],
               "{}: tensor '{}': data_offsets must be [begin, end] with begin <= end, got {}", path.string(),
               name, entry.at("data_offsets").dump());
  result.begin = offsets[0];
  result.end = offsets[1];
  DTRAIN_CHECK(result.end - result.begin == bytes,
               "{}: tensor '{}': shape {} of {} needs {} bytes but data_offsets [{}, {}] span {}",
               path.string(), name, entry.at("shape").dump(), dtype_name(result.dtype), bytes, result.begin,
               result.end, result.end - result.begin);
  return result;
}

// The format requires the tensors to tile the data buffer exactly: no overlaps, no gaps.
void check_layout(const fs::path& path, std::vector<HeaderEntry>& entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const HeaderEntry& a, const HeaderEntry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  uint64_t covered = 0;
  const HeaderEntry* previous = nullptr;
  for (const auto& entry : entries) {
    DTRAIN_CHECK(
        entry.end <= data_size,
        "{}: tensor '{}': data_offsets [{}, {}] run past the end of the data ({} bytes); is the file "
        "truncated?",
        path.string(), entry.name, entry.begin, entry.end, data_size);
    DTRAIN_CHECK(entry.begin >= covered, "{}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", path.string(),
                 previous ? previous->name : "", previous ? previous->begin : 0, covered, entry.name,
                 entry.begin, entry.end);
    DTRAIN_CHECK(entry.begin == covered, "{}: data bytes [{}, {}) before tensor '{}' belong to no tensor",
                 path.string(), covered, entry.begin, entry.name);
    covered = entry.end;
    previous = &entry;
  }
  DTRAIN_CHECK(covered == data_size, "{}: data bytes [{}, {}) after the last tensor belong to no tensor",
               path.string(), covered, data_size);
}

}  // namespace

std::string_view dtype_name(SafetensorsDtype dtype) {
  return info(dtype).name;
}
size_t dtype_size(SafetensorsDtype dtype) {
  return info(dtype).size;
}

SafetensorsFile::SafetensorsFile(fs::path path) : path_(std::move(path)), mapped_(path_) {
  const size_t file_size = mapped_.size();
  DTRAIN_CHECK(file_size >= 8,
               "{}: {} bytes is too short for the 8-byte header length; the file is truncated",
               path_.string(), file_size);
  uint64_t header_size = 0;
  std::memcpy(&header_size, mapped_.data(), 8);
  DTRAIN_CHECK(
      header_size <= file_size - 8,
      "{}: header length {} runs past the end of the file ({} bytes); truncated or not a safetensors file",
      path_.string(), header_size, file_size);
  DTRAIN_CHECK(header_size <= kMaxHeaderBytes, "{}: header length {} exceeds the format's limit of {} bytes",
               path_.string(), header_size, kMaxHeaderBytes);
  const char* header_begin = reinterpret_cast<const char*>(mapped_.data()) + 8;
  json header = parse_header(path_, header_begin, header_begin + header_size);

  std::vector<HeaderEntry> entries;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__")
      metadata_ = parse_metadata(path_, entry);
    else
      entries.push_back(parse_entry(path_, name, entry));
  }
  const std::byte* data = mapped_.data() + 8 + header_size;
  check_layout(path_, entries, file_size - 8 - header_size);

  tensors_.reserve(entries.size());
  for (auto& entry : entries)
    tensors_.push_back({std::move(entry.name), entry.dtype, std::move(entry.shape), data + entry.begin,
                        static_cast<size_t>(entry.end - entry.begin)});
  for (const auto& tensor : tensors_) by_name_.emplace(tensor.name, &tensor);
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : found->second;
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const fs::path& path) {
  if (path.extension() != ".json") {
    shards_.push_back(std::make_unique<SafetensorsFile>(path));
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
      shards_.push_back(std::make_unique<SafetensorsFile>(path.parent_path() / shard_name));
      for (const auto& name : names)
        DTRAIN_CHECK(shards_.back()->find(name), "{}: tensor '{}' is listed in {} but missing from {}",
                     path.string(), name, path.filename().string(), shard_name);
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

std::vector<const TensorView*> SafetensorsCheckpoint::tensors() const {
  std::vector<const TensorView*> result;
  for (const auto& shard : shards_)
    for (const auto& tensor : shard->tensors()) result.push_back(&tensor);
  return result;
}

const TensorView* SafetensorsCheckpoint::find(std::string_view name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : found->second.first;
}

const fs::path& SafetensorsCheckpoint::file_of(const TensorView& view) const {
  return shards_.at(by_name_.at(view.name).second)->path();
}

at::Tensor to_tensor(const TensorView& view, at::ScalarType dtype) {
  at::Tensor stored = at::empty(view.shape, at::TensorOptions().dtype(info(view.dtype).scalar_type));
  if (view.size > 0) std::memcpy(stored.data_ptr(), view.data, view.size);
  return stored.scalar_type() == dtype ? stored : stored.to(dtype);
}

void copy_into(const TensorView& view, at::Tensor& destination) {
  DTRAIN_ASSERT(static_cast<size_t>(destination.numel()) * dtype_size(view.dtype) == view.size,
                "tensor '{}' has {} bytes, destination has {} elements", view.name, view.size,
                destination.numel());
  if (destination.is_cpu() && destination.is_contiguous() &&
      destination.scalar_type() == info(view.dtype).scalar_type) {
    if (view.size > 0) std::memcpy(destination.data_ptr(), view.data, view.size);
    return;
  }
  c10::NoGradGuard no_grad;
  destination.copy_(to_tensor(view, destination.scalar_type()).view(destination.sizes()));
}

void write_safetensors(const fs::path& path, const std::vector<NamedTensor>& tensors) {
  std::vector<at::Tensor> contents;
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    DTRAIN_ASSERT(!header.contains(name), "tensor '{}' given twice to write_safetensors", name);
    const auto scalar_type = tensor.scalar_type();  // Clang before 16 cannot capture a structured binding
    const auto* dtype = std::find_if(std::begin(kDtypes), std::end(kDtypes), [&](const DtypeInfo& entry) {
      return entry.scalar_type == scalar_type;
    });
    DTRAIN_ASSERT(dtype != std::end(kDtypes), "tensor '{}': dtype {} has no safetensors equivalent", name,
                  c10::toString(tensor.scalar_type()));
    contents.push_back(tensor.detach().to(at::kCPU).contiguous());
    const uint64_t bytes = contents.back().numel() * dtype->size;
    header[name] = {
        {"dtype", dtype->name}, {"shape", tensor.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  // Padding keeps the data 8-byte aligned for readers that map tensors in place.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const uint64_t header_size = header_text.size();

  AtomicFile file(path);
  {
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(file.temporary_path().c_str(), "wb"), &std::fclose);
    DTRAIN_CHECK(out, "cannot write {}: {}", file.temporary_path().string(), std::strerror(errno));
    bool ok = std::fwrite(&header_size, 8, 1, out.get()) == 1 &&
              std::fwrite(header_text.data(), 1, header_text.size(), out.get()) == header_text.size();
    for (const auto& content : contents) {
      const size_t bytes = content.numel() * content.element_size();
      ok = ok && (bytes == 0 || std::fwrite(content.data_ptr(), 1, bytes, out.get()) == bytes);
    }
    ok = ok && std::fflush(out.get()) == 0;
    DTRAIN_CHECK(ok, "cannot write {}: {}", path.string(), std::strerror(errno));
  }
  file.commit();
}

}  // namespace dtrain::model
