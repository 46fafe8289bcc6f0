#include "data/dataset/file_checksum.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/sha256.h"

namespace dtrain::data {
namespace {

constexpr const char* kHeaderFormat = "dtrain.checksum";
constexpr int kHeaderVersion = 1;
constexpr std::array<char, 8> kHdf5Signature{'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
constexpr const char* kRecreate = "copy it again from an intact source, or re-create it with dtrain prepare";

std::string header_text(const ChecksumHeader& header) {
  const nlohmann::ordered_json json{{"format", kHeaderFormat},
                                    {"version", kHeaderVersion},
                                    {"size", header.file_size},
                                    {"sha256", header.sha256}};
  return json.dump() + "\n";
}

bool is_lower_hex_sha256(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

ChecksumHeader write_checksum_header(const std::filesystem::path& path) {
  ChecksumHeader header;
  header.file_size = std::filesystem::file_size(path);
  DTRAIN_ASSERT(header.file_size > kChecksumHeaderBytes, "{}: no room for the checksum header",
                path.string());
  header.sha256 = sha256_file_hex(path, kChecksumHeaderBytes);
  std::string block = header_text(header);
  DTRAIN_ASSERT(block.size() <= kChecksumHeaderBytes, "checksum header of {} bytes", block.size());
  block.resize(kChecksumHeaderBytes, '\0');
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  DTRAIN_CHECK(out, "{}: cannot open to write the checksum header", path.string());
  out.write(block.data(), static_cast<std::streamsize>(block.size()));
  out.flush();
  DTRAIN_CHECK(out, "{}: cannot write the checksum header (disk full?)", path.string());
  return header;
}

std::optional<ChecksumHeader> read_checksum_header(const std::filesystem::path& path) {
  std::error_code error;
  DTRAIN_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such file", path.string());
  const uint64_t size = std::filesystem::file_size(path, error);
  DTRAIN_CHECK(!error, "{}: cannot read its size: {}", path.string(), error.message());
  std::ifstream in(path, std::ios::binary);
  DTRAIN_CHECK(in, "{}: cannot open for reading", path.string());
  std::string block(kChecksumHeaderBytes, '\0');
  in.read(block.data(), static_cast<std::streamsize>(block.size()));
  block.resize(static_cast<size_t>(in.gcount()));

  if (block.size() >= kHdf5Signature.size() &&
      std::equal(kHdf5Signature.begin(), kHdf5Signature.end(), block.begin()))
    return std::nullopt;
  const std::string prefix = std::string("{\"format\":\"") + kHeaderFormat + "\"";
  DTRAIN_CHECK(
      block.compare(0, prefix.size(), prefix) == 0,
      "{}: not a dtrain dataset: it starts with neither a dtrain checksum header nor the HDF5 signature "
      "(empty, or damaged at its start?); check the path, or {}",
      path.string(), kRecreate);
  const std::string damaged =
      fmt::format("{}: the checksum header (first {} bytes) is damaged", path.string(), kChecksumHeaderBytes);
  DTRAIN_CHECK(block.size() == kChecksumHeaderBytes,
               "{}: the file ends inside its checksum header (cut off?); {}", path.string(), kRecreate);
  const size_t line_end = block.find('\n');
  DTRAIN_CHECK(
      line_end != std::string::npos && block.find_first_not_of('\0', line_end + 1) == std::string::npos,
      "{}; {}", damaged, kRecreate);
  ChecksumHeader header;
  try {
    const auto json = nlohmann::json::parse(block.substr(0, line_end));
    DTRAIN_CHECK(json.at("version").get<int>() == kHeaderVersion, "{} (version {}); {}", damaged,
                 json.at("version").dump(), kRecreate);
    header.file_size = json.at("size").get<uint64_t>();
    header.sha256 = json.at("sha256").get<std::string>();
    DTRAIN_CHECK(json.size() == 4 && header_text(header) == block.substr(0, line_end + 1), "{}; {}", damaged,
                 kRecreate);
  } catch (const nlohmann::json::exception&) {
    DTRAIN_FAIL("{}; {}", damaged, kRecreate);
  }
  DTRAIN_CHECK(is_lower_hex_sha256(header.sha256), "{}; {}", damaged, kRecreate);
  DTRAIN_CHECK(size == header.file_size,
               "{}: the file has {} bytes, but was written with {}: it was {} on the way; {}", path.string(),
               size, header.file_size, size < header.file_size ? "cut off" : "extended", kRecreate);
  return header;
}

void verify_checksum(const std::filesystem::path& path, const ChecksumHeader& header) {
  const std::string actual = sha256_file_hex(path, kChecksumHeaderBytes);
  DTRAIN_CHECK(
      actual == header.sha256,
      "{}: checksum mismatch: its content is not what dtrain prepare wrote (sha256 {}, recorded {}); "
      "it was damaged in storage or in a copy; {}",
      path.string(), actual, header.sha256, kRecreate);
}

}  // namespace dtrain::data
