#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

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
  std::string pattern = (folder / ("." + destination_.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(pattern.data());
  DTRAIN_CHECK(fd >= 0, "cannot create a temporary file next to {}: {}", destination_.string(),
               std::strerror(errno));
  ::close(fd);
  temporary_ = pattern;
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

}  // namespace dtrain
