#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "common/error.h"

namespace dtrain {
namespace fs = std::filesystem;
namespace {

void fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  DTRAIN_ASSERT(fd >= 0, "cannot open {} to sync it: {}", path.string(), std::strerror(errno));
  int result = ::fsync(fd);
  int saved_errno = errno;
  ::close(fd);
  DTRAIN_ASSERT(result == 0, "fsync of {} failed: {}", path.string(), std::strerror(saved_errno));
}

}  // namespace

AtomicFile::AtomicFile(fs::path destination) : destination_(std::move(destination)) {
  fs::path folder = destination_.has_parent_path() ? destination_.parent_path() : fs::path(".");
  DTRAIN_CHECK(fs::is_directory(folder), "cannot write {}: folder {} does not exist", destination_.string(),
               folder.string());
  // Not mkstemp, which creates files 0600: created with 0666, the file gets what the umask (and a
  // default ACL) allows, like every file Python creates. O_EXCL keeps the name this object's alone.
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0;; ++attempt) {
    temporary_ = folder / ("." + destination_.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                           "-" + std::to_string(counter++));
    const int fd = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      return;
    }
    DTRAIN_CHECK(errno == EEXIST && attempt < 1000, "cannot create a temporary file next to {}: {}",
                 destination_.string(), std::strerror(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  std::error_code ignored;
  fs::remove(temporary_, ignored);
}

void AtomicFile::commit() {
  DTRAIN_ASSERT(!committed_, "{} committed twice", destination_.string());
  fsync_path(temporary_, O_RDONLY);
  DTRAIN_CHECK(::rename(temporary_.c_str(), destination_.c_str()) == 0, "cannot rename {} to {}: {}",
               temporary_.string(), destination_.string(), std::strerror(errno));
  committed_ = true;
  fsync_path(destination_.has_parent_path() ? destination_.parent_path() : fs::path("."),
             O_RDONLY | O_DIRECTORY);
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  AtomicFile file(path);
  {
    std::ofstream out(file.temporary_path(), std::ios::binary);
    out << text;
    out.flush();
    DTRAIN_CHECK(out, "cannot write {}: {}", path.string(), std::strerror(errno));
  }
  file.commit();
}

void copy_file_atomically(const fs::path& source, const fs::path& destination) {
  std::ifstream in(source, std::ios::binary);
  DTRAIN_CHECK(in, "cannot read {}", source.string());
  AtomicFile file(destination);
  {
    std::ofstream out(file.temporary_path(), std::ios::binary);
    if (in.peek() != std::ifstream::traits_type::eof()) out << in.rdbuf();  // inserting nothing fails
    out.flush();
    DTRAIN_CHECK(out && !in.bad(), "cannot copy {} to {}", source.string(), destination.string());
  }
  file.commit();
}

}  // namespace dtrain
