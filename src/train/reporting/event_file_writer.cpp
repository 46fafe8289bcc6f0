#include "train/reporting/event_file_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "common/error.h"
#include "train/reporting/crc32c.h"
#include "train/reporting/tensorboard_event.pb.h"

namespace dtrain::train::reporting {
namespace {

double seconds_since_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  return ::gethostname(name, sizeof(name)) == 0 ? std::string(name) : std::string("localhost");
}

// Distinguishes two writers a process opens in the same second (TensorBoard's _global_uid).
std::atomic<int> next_file_number{0};

void append_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

tensorboard::Event new_event(int64_t step) {
  tensorboard::Event event;
  event.set_wall_time(seconds_since_epoch());
  event.set_step(step);
  return event;
}

}  // namespace

EventFileWriter::EventFileWriter(const std::filesystem::path& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  DTRAIN_CHECK(!error, "{}: cannot create the TensorBoard log folder: {}", folder.string(), error.message());
  path_ = folder / fmt::format("events.out.tfevents.{:010d}.{}.{}.{}",
                               static_cast<int64_t>(seconds_since_epoch()), host_name(), ::getpid(),
                               next_file_number++);
  file_.reset(std::fopen(path_.c_str(), "wb"));
  DTRAIN_CHECK(file_ != nullptr, "{}: cannot open for writing: {}", path_.string(), std::strerror(errno));
  tensorboard::Event event = new_event(0);
  event.set_file_version("brain.Event:2");
  event.mutable_source_metadata()->set_writer("dtrain");
  write_record(event.SerializeAsString());
}

void EventFileWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  tensorboard::Event event = new_event(step);
  tensorboard::Summary* summary = event.mutable_summary();
  for (const auto& [tag, value] : scalars) {
    tensorboard::Summary::Value* entry = summary->add_value();
    entry->set_tag(tag);
    entry->set_simple_value(value);
  }
  write_record(event.SerializeAsString());
}

void EventFileWriter::add_session_start(int64_t step) {
  tensorboard::Event event = new_event(step);
  event.mutable_session_log()->set_status(tensorboard::SessionLog::START);
  write_record(event.SerializeAsString());
}

void EventFileWriter::write_record(const std::string& data) {
  std::string length;
  append_little_endian(length, data.size(), 8);
  std::string record = length;
  append_little_endian(record, masked_crc32c(length), 4);
  record += data;
  append_little_endian(record, masked_crc32c(data), 4);
  const bool written = std::fwrite(record.data(), 1, record.size(), file_.get()) == record.size() &&
                       std::fflush(file_.get()) == 0;
  DTRAIN_CHECK(written, "{}: write failed: {}", path_.string(), std::strerror(errno));
}

}  // namespace dtrain::train::reporting
