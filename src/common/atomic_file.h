#pragma once
// Writes a file so that readers only ever see the old content or the complete new one: data goes
// to a temporary file in the destination's folder (same filesystem, so rename is atomic), which
// commit() fsyncs, renames over the destination and makes durable by fsyncing the folder. A crash
// or exception before commit() leaves no half-written destination; the destructor removes the
// temporary file. Files get the permissions Python's open() would give them, 0666 less the umask, so
// that a model folder is as readable to a team as one transformers wrote.
#include <filesystem>
#include <string>

namespace dtrain {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path destination);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Where to write the content (an empty file created by the constructor).
  const std::filesystem::path& temporary_path() const { return temporary_; }
  const std::filesystem::path& destination() const { return destination_; }

  // Replaces the destination with the temporary file; call after the writer closed it.
  void commit();

 private:
  std::filesystem::path destination_;
  std::filesystem::path temporary_;
  bool committed_ = false;
};

// Writes `text` to `path` through an AtomicFile.
void write_text_atomically(const std::filesystem::path& path, const std::string& text);

// Copies the content of `source` to `destination` through an AtomicFile (permissions from the umask,
// not from the source).
void copy_file_atomically(const std::filesystem::path& source, const std::filesystem::path& destination);

}  // namespace dtrain
