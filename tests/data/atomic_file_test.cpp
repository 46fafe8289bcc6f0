// AtomicFile: the destination appears complete or not at all, and with the permissions Python's
// open() would give it (0666 less the umask), whatever the source of a copy had.
#include "common/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/test_support.h"

namespace dtrain {
namespace {
namespace fs = std::filesystem;
using dtrain::testing::ScratchDir;

mode_t mode_of(const fs::path& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

// Sets the process umask for the scope of one test.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : previous_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(previous_); }

 private:
  mode_t previous_;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(AtomicFile, FilesFollowTheUmask) {
  for (const mode_t mask : {mode_t{022}, mode_t{027}, mode_t{077}}) {
    ScratchDir dir;
    ScopedUmask umask(mask);
    write_text_atomically(dir / "config.json", "{}\n");
    EXPECT_EQ(mode_of(dir / "config.json"), 0666 & ~mask) << std::oct << mask;

    // A copy gets the umask's mode too, not its read-only source's.
    dtrain::testing::write_file(dir / "source.txt", "vocabulary\n");
    fs::permissions(dir / "source.txt", fs::perms::owner_read);
    copy_file_atomically(dir / "source.txt", dir / "copy.txt");
    EXPECT_EQ(mode_of(dir / "copy.txt"), 0666 & ~mask) << std::oct << mask;
    EXPECT_EQ(read_text(dir / "copy.txt"), "vocabulary\n");
  }
}

TEST(AtomicFile, ReplacesOnlyOnCommitAndLeavesNoTemporaryFile) {
  ScratchDir dir;
  write_text_atomically(dir / "a.txt", "old");
  {
    AtomicFile file(dir / "a.txt");
    std::ofstream(file.temporary_path()) << "new";
    EXPECT_EQ(read_text(dir / "a.txt"), "old");
    // No commit: the destructor removes the temporary file.
  }
  EXPECT_EQ(read_text(dir / "a.txt"), "old");
  {
    AtomicFile first(dir / "b.txt"), second(dir / "b.txt");
    EXPECT_NE(first.temporary_path(), second.temporary_path());
    std::ofstream(second.temporary_path()) << "second";
    second.commit();
  }
  EXPECT_EQ(read_text(dir / "b.txt"), "second");
  dtrain::testing::write_file(dir / "empty.txt", "");
  copy_file_atomically(dir / "empty.txt", dir / "empty-copy.txt");
  EXPECT_EQ(read_text(dir / "empty-copy.txt"), "");
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

}  // namespace
}  // namespace dtrain
