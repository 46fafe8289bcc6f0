#pragma once
// A read-only memory map of a whole file, unmapped when the object dies. Checkpoint readers map
// once and copy tensors straight from the page cache, without an intermediate read buffer.
#include <cstddef>
#include <filesystem>

namespace dtrain::model {

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

  // Drops the resident pages that lie wholly inside [begin, begin + size): after a tensor was
  // copied out, its pages need not count towards the process's memory (they fault back in from
  // the file if read again).
  static void drop_pages(const std::byte* begin, size_t size);

 private:
  void unmap();

  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace dtrain::model
