#include "model/hf/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"

namespace dtrain::model {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

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
  if (auto known = dtype_named(dtype->get<std::string>())) return *known;
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
    tensors_.push_back({std::move(entry.name),
                        entry.dtype,
                        std::move(entry.shape),
                        data + entry.begin,
                        static_cast<size_t>(entry.end - entry.begin),
                        {}});
  for (const auto& tensor : tensors_) by_name_.emplace(tensor.name, &tensor);
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : found->second;
}

void write_safetensors(const fs::path& path, const std::vector<NamedTensor>& tensors) {
  std::vector<at::Tensor> contents;
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    DTRAIN_ASSERT(!header.contains(name), "tensor '{}' given twice to write_safetensors", name);
    const auto dtype = dtype_of(tensor.scalar_type());
    DTRAIN_ASSERT(dtype, "tensor '{}': dtype {} has no safetensors equivalent", name,
                  c10::toString(tensor.scalar_type()));
    contents.push_back(tensor.detach().to(at::kCPU).contiguous());
    const uint64_t bytes = contents.back().numel() * dtype_size(*dtype);
    header[name] = {{"dtype", dtype_name(*dtype)},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
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
