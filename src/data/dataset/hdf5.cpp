#include "data/dataset/hdf5.h"

#include <system_error>

#include "common/error.h"

// Checks the result of an H5* call (negative means failure) and evaluates to it. The message says
// what was being done to which object; HDF5's own explanation is appended as the hint.
#define DTRAIN_H5(call, ...)                                              \
  [&] {                                                                   \
    const auto result = (call);                                           \
    DTRAIN_ASSERT(result >= 0, "{} (HDF5: {})", fmt::format(__VA_ARGS__), \
                  ::dtrain::data::hdf5::last_error());                    \
    return result;                                                        \
  }()

namespace dtrain::data::hdf5 {
namespace {

// HDF5 prints its error stack to stderr by default; dtrain reports errors itself, once. The setting
// is per thread in thread-safe HDF5 builds, so every entry point calls this.
void silence_hdf5_printing() {
  thread_local bool silenced = false;
  if (!silenced) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    silenced = true;
  }
}

struct ErrorMessages {
  std::string outermost, innermost;
};

herr_t collect_error(unsigned position, const H5E_error2_t* error, void* client_data) {
  auto* messages = static_cast<ErrorMessages*>(client_data);
  const std::string text = fmt::format("{}: {}", error->func_name, error->desc);
  if (position == 0) messages->outermost = text;
  messages->innermost = text;
  return 0;
}

Id utf8_string_type() {
  Id type(DTRAIN_H5(H5Tcopy(H5T_C_S1), "copying the string type"), H5Tclose);
  DTRAIN_H5(H5Tset_size(type.get(), H5T_VARIABLE), "making a variable-length string type");
  DTRAIN_H5(H5Tset_cset(type.get(), H5T_CSET_UTF8), "setting UTF-8 on the string type");
  return type;
}

hsize_t to_hsize(int64_t value) {
  return static_cast<hsize_t>(value);
}

}  // namespace

std::string last_error() {
  ErrorMessages messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &messages);
  if (messages.outermost.empty()) return "no details";
  if (messages.outermost == messages.innermost) return messages.outermost;
  return messages.outermost + " <- " + messages.innermost;
}

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    close();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

bool Id::close() {
  if (id_ < 0) return true;
  const herr_t status = closer_(id_);
  id_ = H5I_INVALID_HID;
  return status >= 0;
}

int Dataset::rank() const {
  Id space(DTRAIN_H5(H5Dget_space(id_.get()), "{}: reading the dataspace", where_), H5Sclose);
  return DTRAIN_H5(H5Sget_simple_extent_ndims(space.get()), "{}: reading the rank", where_);
}

int64_t Dataset::size() const {
  Id space(DTRAIN_H5(H5Dget_space(id_.get()), "{}: reading the dataspace", where_), H5Sclose);
  return DTRAIN_H5(H5Sget_simple_extent_npoints(space.get()), "{}: reading the size", where_);
}

H5T_class_t Dataset::type_class() const {
  Id type(DTRAIN_H5(H5Dget_type(id_.get()), "{}: reading the type", where_), H5Tclose);
  return DTRAIN_H5(H5Tget_class(type.get()), "{}: reading the type class", where_);
}

size_t Dataset::type_size() const {
  Id type(DTRAIN_H5(H5Dget_type(id_.get()), "{}: reading the type", where_), H5Tclose);
  const size_t size = H5Tget_size(type.get());
  DTRAIN_ASSERT(size > 0, "{}: reading the type size (HDF5: {})", where_, last_error());
  return size;
}

bool Dataset::is_signed() const {
  Id type(DTRAIN_H5(H5Dget_type(id_.get()), "{}: reading the type", where_), H5Tclose);
  return DTRAIN_H5(H5Tget_sign(type.get()), "{}: reading the sign", where_) == H5T_SGN_2;
}

void Dataset::read_raw(hid_t memory_type, const std::vector<Range>& ranges, void* out) const {
  silence_hdf5_printing();
  Id file_space(DTRAIN_H5(H5Dget_space(id_.get()), "{}: reading the dataspace", where_), H5Sclose);
  const int64_t extent = DTRAIN_H5(H5Sget_simple_extent_npoints(file_space.get()), "{}: size", where_);
  hsize_t total = 0;
  H5S_seloper_t operation = H5S_SELECT_SET;
  for (const Range& range : ranges) {
    DTRAIN_ASSERT(0 <= range.begin && range.begin <= range.end && range.end <= extent,
                  "{}: range [{}, {}) is outside the dataset (size {})", where_, range.begin, range.end,
                  extent);
    if (range.begin == range.end) continue;
    const hsize_t start = to_hsize(range.begin), count = to_hsize(range.end - range.begin);
    DTRAIN_H5(H5Sselect_hyperslab(file_space.get(), operation, &start, nullptr, &count, nullptr),
              "{}: selecting [{}, {})", where_, range.begin, range.end);
    operation = H5S_SELECT_OR;
    total += count;
  }
  if (total == 0) return;
  Id memory_space(DTRAIN_H5(H5Screate_simple(1, &total, nullptr), "{}: memory dataspace", where_), H5Sclose);
  DTRAIN_H5(H5Dread(id_.get(), memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, out),
            "{}: reading {} elements (truncated or corrupt file?)", where_, total);
}

void Dataset::append_raw(hid_t memory_type, size_t count, const void* values) {
  if (count == 0) return;
  const hsize_t start = to_hsize(size()), added = count, new_size = start + added;
  DTRAIN_H5(H5Dset_extent(id_.get(), &new_size), "{}: growing to {} elements", where_, new_size);
  Id file_space(DTRAIN_H5(H5Dget_space(id_.get()), "{}: reading the dataspace", where_), H5Sclose);
  DTRAIN_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &added, nullptr),
            "{}: selecting the appended range", where_);
  Id memory_space(DTRAIN_H5(H5Screate_simple(1, &added, nullptr), "{}: memory dataspace", where_), H5Sclose);
  DTRAIN_H5(H5Dwrite(id_.get(), memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, values),
            "{}: writing {} elements", where_, count);
}

File File::create(const std::filesystem::path& path) {
  silence_hdf5_printing();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  DTRAIN_CHECK(id >= 0, "{}: cannot create the file; does its folder exist and is it writable? (HDF5: {})",
               path.string(), last_error());
  return File(Id(id, H5Fclose), path);
}

File File::open_read_only(const std::filesystem::path& path) {
  silence_hdf5_printing();
  std::error_code error;
  DTRAIN_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such file", path.string());
  DTRAIN_CHECK(H5Fis_hdf5(path.c_str()) > 0, "{}: not an HDF5 file (empty, truncated or corrupt?)",
               path.string());
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  DTRAIN_CHECK(id >= 0, "{}: cannot open the HDF5 file; it is truncated or corrupt (HDF5: {})", path.string(),
               last_error());
  return File(Id(id, H5Fclose), path);
}

Dataset File::create_dataset(const std::string& name, hid_t file_type, int64_t chunk_elements,
                             int deflate_level) {
  const std::string where = path_.string() + ":/" + name;
  const hsize_t empty = 0, unlimited = H5S_UNLIMITED, chunk = to_hsize(chunk_elements);
  Id space(DTRAIN_H5(H5Screate_simple(1, &empty, &unlimited), "{}: dataspace", where), H5Sclose);
  Id properties(DTRAIN_H5(H5Pcreate(H5P_DATASET_CREATE), "{}: creation properties", where), H5Pclose);
  DTRAIN_H5(H5Pset_chunk(properties.get(), 1, &chunk), "{}: chunking", where);
  // Byte shuffling groups the mostly-zero high bytes of token ids, which roughly halves their size.
  DTRAIN_H5(H5Pset_shuffle(properties.get()), "{}: shuffle filter", where);
  DTRAIN_H5(H5Pset_deflate(properties.get(), static_cast<unsigned>(deflate_level)), "{}: deflate", where);
  const hid_t id = DTRAIN_H5(
      H5Dcreate2(id_.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT, properties.get(), H5P_DEFAULT),
      "{}: creating the dataset", where);
  return Dataset(Id(id, H5Dclose), where);
}

bool File::has_dataset(const std::string& name) const {
  silence_hdf5_printing();
  if (H5Lexists(id_.get(), name.c_str(), H5P_DEFAULT) <= 0) return false;
  H5O_info_t info;
  return H5Oget_info_by_name(id_.get(), name.c_str(), &info, H5P_DEFAULT) >= 0 &&
         info.type == H5O_TYPE_DATASET;
}

Dataset File::open_dataset(const std::string& name, size_t chunk_cache_bytes) const {
  const std::string where = path_.string() + ":/" + name;
  DTRAIN_CHECK(has_dataset(name), "{}: dataset /{} is missing", path_.string(), name);
  Id access(DTRAIN_H5(H5Pcreate(H5P_DATASET_ACCESS), "{}: access properties", where), H5Pclose);
  // A prime slot count spreads chunk indices evenly over the hash table (HDF5's advice).
  constexpr size_t kCacheSlots = 100003;
  DTRAIN_H5(H5Pset_chunk_cache(access.get(), kCacheSlots, chunk_cache_bytes, 1.0), "{}: chunk cache", where);
  const hid_t id =
      DTRAIN_H5(H5Dopen2(id_.get(), name.c_str(), access.get()), "{}: opening the dataset", where);
  return Dataset(Id(id, H5Dclose), where);
}

void File::set_attribute(const std::string& name, const std::string& value) {
  Id type = utf8_string_type();
  Id space(DTRAIN_H5(H5Screate(H5S_SCALAR), "attribute {}: dataspace", name), H5Sclose);
  Id attribute(
      DTRAIN_H5(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                "{}: creating attribute {}", path_.string(), name),
      H5Aclose);
  const char* text = value.c_str();
  DTRAIN_H5(H5Awrite(attribute.get(), type.get(), &text), "{}: writing attribute {}", path_.string(), name);
}

void File::set_attribute(const std::string& name, int64_t value) {
  Id space(DTRAIN_H5(H5Screate(H5S_SCALAR), "attribute {}: dataspace", name), H5Sclose);
  Id attribute(
      DTRAIN_H5(H5Acreate2(id_.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                "{}: creating attribute {}", path_.string(), name),
      H5Aclose);
  DTRAIN_H5(H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value), "{}: writing attribute {}", path_.string(),
            name);
}

void File::set_attribute(const std::string& name, const std::vector<std::string>& values) {
  Id type = utf8_string_type();
  const hsize_t count = values.size();
  Id space(DTRAIN_H5(H5Screate_simple(1, &count, nullptr), "attribute {}: dataspace", name), H5Sclose);
  Id attribute(
      DTRAIN_H5(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                "{}: creating attribute {}", path_.string(), name),
      H5Aclose);
  std::vector<const char*> texts;
  for (const std::string& value : values) texts.push_back(value.c_str());
  if (texts.empty()) return;
  DTRAIN_H5(H5Awrite(attribute.get(), type.get(), texts.data()), "{}: writing attribute {}", path_.string(),
            name);
}

bool File::has_attribute(const std::string& name) const {
  silence_hdf5_printing();
  return H5Aexists(id_.get(), name.c_str()) > 0;
}

Id File::open_attribute(const std::string& name) const {
  DTRAIN_CHECK(has_attribute(name), "{}: attribute '{}' is missing", path_.string(), name);
  return Id(DTRAIN_H5(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), "{}: opening attribute {}",
                      path_.string(), name),
            H5Aclose);
}

namespace {

// Number of elements of an attribute whose type has the given class; a user-facing error otherwise.
int64_t checked_attribute_elements(const Id& attribute, H5T_class_t expected,
                                   const std::filesystem::path& path, const std::string& name,
                                   const char* expected_name) {
  Id type(DTRAIN_H5(H5Aget_type(attribute.get()), "{}: type of attribute {}", path.string(), name), H5Tclose);
  bool matches = H5Tget_class(type.get()) == expected;
  if (matches && expected == H5T_STRING) matches = H5Tis_variable_str(type.get()) > 0;
  DTRAIN_CHECK(matches, "{}: attribute '{}' is not {}", path.string(), name, expected_name);
  Id space(DTRAIN_H5(H5Aget_space(attribute.get()), "{}: space of attribute {}", path.string(), name),
           H5Sclose);
  return DTRAIN_H5(H5Sget_simple_extent_npoints(space.get()), "{}: size of attribute {}", path.string(),
                   name);
}

}  // namespace

std::string File::string_attribute(const std::string& name) const {
  Id attribute = open_attribute(name);
  const int64_t elements = checked_attribute_elements(attribute, H5T_STRING, path_, name, "a string");
  DTRAIN_CHECK(elements == 1, "{}: attribute '{}' is not a single string", path_.string(), name);
  Id type = utf8_string_type();
  char* text = nullptr;
  DTRAIN_H5(H5Aread(attribute.get(), type.get(), &text), "{}: reading attribute {}", path_.string(), name);
  std::string value = text ? text : "";
  H5free_memory(text);
  return value;
}

int64_t File::int_attribute(const std::string& name) const {
  Id attribute = open_attribute(name);
  const int64_t elements = checked_attribute_elements(attribute, H5T_INTEGER, path_, name, "an integer");
  DTRAIN_CHECK(elements == 1, "{}: attribute '{}' is not a single integer", path_.string(), name);
  int64_t value = 0;
  DTRAIN_H5(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), "{}: reading attribute {}", path_.string(),
            name);
  return value;
}

std::vector<std::string> File::string_list_attribute(const std::string& name) const {
  Id attribute = open_attribute(name);
  const int64_t elements =
      checked_attribute_elements(attribute, H5T_STRING, path_, name, "a list of strings");
  if (elements == 0) return {};
  Id type = utf8_string_type();
  std::vector<char*> texts(static_cast<size_t>(elements), nullptr);
  DTRAIN_H5(H5Aread(attribute.get(), type.get(), texts.data()), "{}: reading attribute {}", path_.string(),
            name);
  std::vector<std::string> values;
  for (char* text : texts) {
    values.emplace_back(text ? text : "");
    H5free_memory(text);
  }
  return values;
}

void File::close() {
  const std::string where = path_.string();
  DTRAIN_ASSERT(id_.close(), "{}: closing the file failed (HDF5: {})", where, last_error());
}

}  // namespace dtrain::data::hdf5
