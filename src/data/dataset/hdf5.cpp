#include "data/dataset/hdf5.h"

#include <algorithm>
#include <cstring>
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

// The same for a call that reads a file: there a failure means damaged content, which the user can
// act on, so the error is user-facing (no source location) and says what to do.
#define DTRAIN_H5_READ(call, ...)                                                                 \
  [&] {                                                                                           \
    const auto result = (call);                                                                   \
    DTRAIN_CHECK(result >= 0, "{}: the file is damaged (HDF5: {}); {}", fmt::format(__VA_ARGS__), \
                 ::dtrain::data::hdf5::last_error(), ::dtrain::data::hdf5::kDamagedFileHint);     \
    return result;                                                                                \
  }()

namespace dtrain::data::hdf5 {
namespace {

constexpr const char* kDamagedFileHint =
    "run dtrain inspect on it, then copy it again or re-create it with dtrain prepare";

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

Id variable_length_utf8_type() {
  Id type(DTRAIN_H5(H5Tcopy(H5T_C_S1), "copying the string type"), H5Tclose);
  DTRAIN_H5(H5Tset_size(type.get(), H5T_VARIABLE), "making a variable-length string type");
  DTRAIN_H5(H5Tset_cset(type.get(), H5T_CSET_UTF8), "setting UTF-8 on the string type");
  return type;
}

// Null-padded UTF-8 strings of `bytes` bytes (HDF5 has no zero-size strings: at least 1).
Id fixed_length_utf8_type(size_t bytes) {
  Id type(DTRAIN_H5(H5Tcopy(H5T_C_S1), "copying the string type"), H5Tclose);
  DTRAIN_H5(H5Tset_size(type.get(), std::max<size_t>(bytes, 1)), "sizing a fixed-length string type");
  DTRAIN_H5(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "padding a fixed-length string type");
  DTRAIN_H5(H5Tset_cset(type.get(), H5T_CSET_UTF8), "setting UTF-8 on the string type");
  return type;
}

// A fixed-length string cell without its null padding.
std::string without_padding(const char* cell, size_t bytes) {
  return std::string(cell, strnlen(cell, bytes));
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
  Id space(DTRAIN_H5_READ(H5Dget_space(id_.get()), "{}: reading the dataspace", where_), H5Sclose);
  return DTRAIN_H5_READ(H5Sget_simple_extent_ndims(space.get()), "{}: reading the rank", where_);
}

int64_t Dataset::size() const {
  Id space(DTRAIN_H5_READ(H5Dget_space(id_.get()), "{}: reading the dataspace", where_), H5Sclose);
  return DTRAIN_H5_READ(H5Sget_simple_extent_npoints(space.get()), "{}: reading the size", where_);
}

H5T_class_t Dataset::type_class() const {
  Id type(DTRAIN_H5_READ(H5Dget_type(id_.get()), "{}: reading the type", where_), H5Tclose);
  return DTRAIN_H5_READ(H5Tget_class(type.get()), "{}: reading the type class", where_);
}

size_t Dataset::type_size() const {
  Id type(DTRAIN_H5_READ(H5Dget_type(id_.get()), "{}: reading the type", where_), H5Tclose);
  const size_t size = H5Tget_size(type.get());
  DTRAIN_ASSERT(size > 0, "{}: reading the type size (HDF5: {})", where_, last_error());
  return size;
}

bool Dataset::is_signed() const {
  Id type(DTRAIN_H5_READ(H5Dget_type(id_.get()), "{}: reading the type", where_), H5Tclose);
  return DTRAIN_H5_READ(H5Tget_sign(type.get()), "{}: reading the sign", where_) == H5T_SGN_2;
}

void Dataset::read_raw(hid_t memory_type, const std::vector<Range>& ranges, void* out) const {
  silence_hdf5_printing();
  Id file_space(DTRAIN_H5_READ(H5Dget_space(id_.get()), "{}: reading the dataspace", where_), H5Sclose);
  const int64_t extent = DTRAIN_H5_READ(H5Sget_simple_extent_npoints(file_space.get()), "{}: size", where_);
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
  DTRAIN_H5_READ(H5Dread(id_.get(), memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, out),
                 "{}: reading {} elements", where_, total);
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

File File::create(const std::filesystem::path& path, size_t user_block_bytes) {
  silence_hdf5_printing();
  Id creation(DTRAIN_H5(H5Pcreate(H5P_FILE_CREATE), "{}: creation properties", path.string()), H5Pclose);
  if (user_block_bytes > 0) {
    DTRAIN_H5(H5Pset_userblock(creation.get(), user_block_bytes), "{}: user block", path.string());
  }
  Id access(DTRAIN_H5(H5Pcreate(H5P_FILE_ACCESS), "{}: access properties", path.string()), H5Pclose);
  // The 1.10 format is the first whose every metadata structure is checksummed (chunk indexes of
  // extendible datasets became extensible arrays); h5py and HDF5 >= 1.10 read it.
  DTRAIN_H5(H5Pset_libver_bounds(access.get(), H5F_LIBVER_V110, H5F_LIBVER_V110), "{}: file format version",
            path.string());
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, creation.get(), access.get());
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
  // Last in the pipeline, so the checksum covers the stored bytes and is verified before inflating.
  DTRAIN_H5(H5Pset_fletcher32(properties.get()), "{}: Fletcher-32 checksum", where);
  const hid_t id = DTRAIN_H5(
      H5Dcreate2(id_.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT, properties.get(), H5P_DEFAULT),
      "{}: creating the dataset", where);
  return Dataset(Id(id, H5Dclose), where);
}

bool File::has_dataset(const std::string& name) const {
  silence_hdf5_printing();
  // A failed lookup (negative) is damage, not absence: "missing" would send the user the wrong way.
  if (DTRAIN_H5_READ(H5Lexists(id_.get(), name.c_str(), H5P_DEFAULT), "{}: looking up /{}", path_.string(),
                     name) == 0)
    return false;
  H5O_info_t info;
  DTRAIN_H5_READ(H5Oget_info_by_name(id_.get(), name.c_str(), &info, H5P_DEFAULT), "{}: reading /{}",
                 path_.string(), name);
  return info.type == H5O_TYPE_DATASET;
}

Dataset File::open_dataset(const std::string& name, size_t chunk_cache_bytes) const {
  const std::string where = path_.string() + ":/" + name;
  DTRAIN_CHECK(has_dataset(name), "{}: dataset /{} is missing", path_.string(), name);
  Id access(DTRAIN_H5(H5Pcreate(H5P_DATASET_ACCESS), "{}: access properties", where), H5Pclose);
  // A prime slot count spreads chunk indices evenly over the hash table (HDF5's advice).
  constexpr size_t kCacheSlots = 100003;
  DTRAIN_H5(H5Pset_chunk_cache(access.get(), kCacheSlots, chunk_cache_bytes, 1.0), "{}: chunk cache", where);
  const hid_t id =
      DTRAIN_H5_READ(H5Dopen2(id_.get(), name.c_str(), access.get()), "{}: opening the dataset", where);
  return Dataset(Id(id, H5Dclose), where);
}

void File::set_attribute(const std::string& name, const std::string& value) {
  Id type = fixed_length_utf8_type(value.size());
  Id space(DTRAIN_H5(H5Screate(H5S_SCALAR), "attribute {}: dataspace", name), H5Sclose);
  Id attribute(
      DTRAIN_H5(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                "{}: creating attribute {}", path_.string(), name),
      H5Aclose);
  std::string cell = value;
  cell.resize(std::max<size_t>(value.size(), 1), '\0');
  DTRAIN_H5(H5Awrite(attribute.get(), type.get(), cell.data()), "{}: writing attribute {}", path_.string(),
            name);
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
  size_t longest = 0;
  for (const std::string& value : values) longest = std::max(longest, value.size());
  Id type = fixed_length_utf8_type(longest);
  const size_t cell_bytes = std::max<size_t>(longest, 1);
  const hsize_t count = values.size();
  Id space(DTRAIN_H5(H5Screate_simple(1, &count, nullptr), "attribute {}: dataspace", name), H5Sclose);
  Id attribute(
      DTRAIN_H5(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                "{}: creating attribute {}", path_.string(), name),
      H5Aclose);
  if (values.empty()) return;
  std::string cells(values.size() * cell_bytes, '\0');
  for (size_t i = 0; i < values.size(); ++i) values[i].copy(cells.data() + i * cell_bytes, values[i].size());
  DTRAIN_H5(H5Awrite(attribute.get(), type.get(), cells.data()), "{}: writing attribute {}", path_.string(),
            name);
}

bool File::has_attribute(const std::string& name) const {
  silence_hdf5_printing();
  return DTRAIN_H5_READ(H5Aexists(id_.get(), name.c_str()), "{}: looking up attribute '{}'", path_.string(),
                        name) > 0;
}

Id File::open_attribute(const std::string& name) const {
  DTRAIN_CHECK(has_attribute(name), "{}: attribute '{}' is missing", path_.string(), name);
  return Id(DTRAIN_H5_READ(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), "{}: opening attribute {}",
                           path_.string(), name),
            H5Aclose);
}

namespace {

// Bounds on what a string attribute may claim, so a damaged size cannot ask for gigabytes.
constexpr size_t kMaxStringBytes = size_t{1} << 24;
constexpr int64_t kMaxStrings = int64_t{1} << 20;

// An attribute's type and element count, checked to be of `expected` class.
struct AttributeShape {
  Id type;
  int64_t elements;
};

AttributeShape checked_attribute_shape(const Id& attribute, H5T_class_t expected,
                                       const std::filesystem::path& path, const std::string& name,
                                       const char* expected_name) {
  Id type(DTRAIN_H5_READ(H5Aget_type(attribute.get()), "{}: type of attribute {}", path.string(), name),
          H5Tclose);
  DTRAIN_CHECK(H5Tget_class(type.get()) == expected, "{}: attribute '{}' is not {}", path.string(), name,
               expected_name);
  Id space(DTRAIN_H5_READ(H5Aget_space(attribute.get()), "{}: space of attribute {}", path.string(), name),
           H5Sclose);
  const int64_t elements = DTRAIN_H5_READ(H5Sget_simple_extent_npoints(space.get()),
                                          "{}: size of attribute {}", path.string(), name);
  return {std::move(type), elements};
}

// Reads every string of a string attribute, fixed-length or (where allowed) variable-length.
std::vector<std::string> read_strings(const Id& attribute, const std::filesystem::path& path,
                                      const std::string& name, StringStorage storage,
                                      const char* expected_name) {
  AttributeShape shape = checked_attribute_shape(attribute, H5T_STRING, path, name, expected_name);
  DTRAIN_CHECK(shape.elements >= 0 && shape.elements <= kMaxStrings, "{}: attribute '{}' claims {} strings",
               path.string(), name, shape.elements);
  const auto count = static_cast<size_t>(shape.elements);
  std::vector<std::string> values;
  if (H5Tis_variable_str(shape.type.get()) > 0) {
    DTRAIN_CHECK(storage == StringStorage::fixed_or_variable_length,
                 "{}: attribute '{}' is a variable-length string, which this format version does not use "
                 "(damaged file?)",
                 path.string(), name);
    if (count == 0) return values;
    Id type = variable_length_utf8_type();
    std::vector<char*> texts(count, nullptr);
    DTRAIN_H5_READ(H5Aread(attribute.get(), type.get(), texts.data()), "{}: reading attribute {}",
                   path.string(), name);
    for (char* text : texts) {
      values.emplace_back(text ? text : "");
      H5free_memory(text);
    }
    return values;
  }
  const size_t cell_bytes = H5Tget_size(shape.type.get());
  DTRAIN_CHECK(cell_bytes > 0 && cell_bytes <= kMaxStringBytes && cell_bytes * count <= kMaxStringBytes,
               "{}: attribute '{}' claims {} strings of {} bytes", path.string(), name, count, cell_bytes);
  if (count == 0) return values;
  Id type = fixed_length_utf8_type(cell_bytes);
  std::vector<char> cells(cell_bytes * count);
  DTRAIN_H5_READ(H5Aread(attribute.get(), type.get(), cells.data()), "{}: reading attribute {}",
                 path.string(), name);
  for (size_t i = 0; i < count; ++i)
    values.push_back(without_padding(cells.data() + i * cell_bytes, cell_bytes));
  return values;
}

}  // namespace

std::string File::string_attribute(const std::string& name, StringStorage storage) const {
  const std::vector<std::string> values =
      read_strings(open_attribute(name), path_, name, storage, "a string");
  DTRAIN_CHECK(values.size() == 1, "{}: attribute '{}' is not a single string", path_.string(), name);
  return values.front();
}

int64_t File::int_attribute(const std::string& name) const {
  Id attribute = open_attribute(name);
  const AttributeShape shape = checked_attribute_shape(attribute, H5T_INTEGER, path_, name, "an integer");
  DTRAIN_CHECK(shape.elements == 1, "{}: attribute '{}' is not a single integer", path_.string(), name);
  int64_t value = 0;
  DTRAIN_H5_READ(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), "{}: reading attribute {}",
                 path_.string(), name);
  return value;
}

std::vector<std::string> File::string_list_attribute(const std::string& name, StringStorage storage) const {
  return read_strings(open_attribute(name), path_, name, storage, "a list of strings");
}

void File::close() {
  const std::string where = path_.string();
  DTRAIN_ASSERT(id_.close(), "{}: closing the file failed (HDF5: {})", where, last_error());
}

}  // namespace dtrain::data::hdf5
