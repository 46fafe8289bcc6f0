#pragma once
// A TensorBoard event file, written the way TensorBoard's own writer does: a new
// events.out.tfevents.<seconds>.<host>.<pid>.<n> file in the log folder, a file_version
// "brain.Event:2" event first, then Event protobufs, each framed as a TFRecord (length, masked
// CRC-32C of the length, data, masked CRC-32C of the data). Every event is flushed as it is added, so
// a killed job keeps what it logged.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dtrain::train::reporting {

class EventFileWriter {
 public:
  // Creates `folder` if needed; throws dtrain::Error naming the file when it cannot be written.
  explicit EventFileWriter(const std::filesystem::path& folder);

  // One event with a scalar summary per (tag, value) at `step`.
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars);
  // A session start at `step`: TensorBoard drops the scalars an earlier run of this folder logged at
  // `step` and later (a resumed run logs them again).
  void add_session_start(int64_t step);

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);

  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
};

}  // namespace dtrain::train::reporting
