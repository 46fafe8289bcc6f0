#pragma once
// A small RAII layer over the HDF5 C API, shaped for dtrain's layout: one file, 1-D datasets and
// root attributes. Every H5* call is checked; failures become dtrain::Error naming the file and the
// object, with HDF5's innermost error message as the hint (HDF5's own stderr printing is silenced).
//
// Files it creates can be checked for damage by libhdf5 itself: the HDF5 1.10 file format, in which
// the superblock, object headers, chunk indexes and heaps all carry checksums; a Fletcher-32
// checksum on every chunk of every dataset; and fixed-length strings, so no attribute goes through
// the global heap (whose parser has no checksum and crashes or hangs on damaged files).
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dtrain::data::hdf5 {

// HDF5's innermost error message on this thread's error stack ("" when empty).
std::string last_error();

// Owns one HDF5 identifier and releases it with the matching H5*close function.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Id() { close(); }
  Id(Id&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = H5I_INVALID_HID; }
  Id& operator=(Id&& other) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now and reports whether closing succeeded (closing a file flushes it).
  bool close();

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// The native in-memory HDF5 type of a C++ element type.
template <class T>
hid_t native_type();
template <>
inline hid_t native_type<int8_t>() {
  return H5T_NATIVE_INT8;
}
template <>
inline hid_t native_type<int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
inline hid_t native_type<int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
inline hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}

// A half-open element range [begin, end) of a 1-D dataset.
struct Range {
  int64_t begin, end;
};

class Dataset {
 public:
  Dataset(Id id, std::string where) : id_(std::move(id)), where_(std::move(where)) {}

  const std::string& where() const { return where_; }  // "file.h5:/name", for messages
  int rank() const;
  int64_t size() const;  // elements along the single dimension of a 1-D dataset
  H5T_class_t type_class() const;
  size_t type_size() const;
  bool is_signed() const;

  template <class T>
  std::vector<T> read_all() const {
    std::vector<T> values(static_cast<size_t>(size()));
    read_raw(native_type<T>(), {{0, static_cast<int64_t>(values.size())}}, values.data());
    return values;
  }
  // Reads the union of sorted, disjoint ranges into `out` (their total length), in file order.
  template <class T>
  void read_ranges(const std::vector<Range>& ranges, T* out) const {
    read_raw(native_type<T>(), ranges, out);
  }
  // Appends to an extendible dataset (created by File::create_dataset).
  template <class T>
  void append(const std::vector<T>& values) {
    append_raw(native_type<T>(), values.size(), values.data());
  }

 private:
  void read_raw(hid_t memory_type, const std::vector<Range>& ranges, void* out) const;
  void append_raw(hid_t memory_type, size_t count, const void* values);

  Id id_;
  std::string where_;
};

// Whether a string attribute may be stored with variable length (format 1 files only).
enum class StringStorage { fixed_length, fixed_or_variable_length };

class File {
 public:
  // Truncates an existing file. `user_block_bytes` (0, or a power of two >= 512) are reserved at the
  // start of the file for the caller; HDF5 readers skip them.
  static File create(const std::filesystem::path& path, size_t user_block_bytes = 0);
  // Throws a user-facing error when the file is missing or is not a readable HDF5 file.
  static File open_read_only(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }

  // An empty 1-D dataset that grows with Dataset::append: chunked, shuffled, deflate-compressed and
  // Fletcher-32 checksummed (a damaged chunk is a read error).
  Dataset create_dataset(const std::string& name, hid_t file_type, int64_t chunk_elements, int deflate_level);
  bool has_dataset(const std::string& name) const;
  // Opens a dataset with a chunk cache of `chunk_cache_bytes` (random reads hit the cache).
  Dataset open_dataset(const std::string& name, size_t chunk_cache_bytes) const;

  // Strings are written fixed-length UTF-8 (h5py reads them as bytes).
  void set_attribute(const std::string& name, const std::string& value);
  void set_attribute(const std::string& name, int64_t value);
  void set_attribute(const std::string& name, const std::vector<std::string>& values);
  bool has_attribute(const std::string& name) const;
  // Readers throw a user-facing error when the attribute is missing or has the wrong type.
  std::string string_attribute(const std::string& name, StringStorage storage) const;
  int64_t int_attribute(const std::string& name) const;
  std::vector<std::string> string_list_attribute(const std::string& name, StringStorage storage) const;

  // Flushes and closes, throwing if that fails (the destructor closes silently).
  void close();

 private:
  File(Id id, std::filesystem::path path) : id_(std::move(id)), path_(std::move(path)) {}
  Id open_attribute(const std::string& name) const;

  Id id_;
  std::filesystem::path path_;
};

}  // namespace dtrain::data::hdf5
