#pragma once
// The readers take paths (libhdf5 and the safetensors mapping read files), so each input is written
// to one scratch file per fuzzer process, in memory-backed /dev/shm where present.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace dtrain::fuzz {

inline std::filesystem::path scratch_file(const char* extension) {
  const std::filesystem::path folder = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  return folder / ("dtrain-fuzz-" + std::to_string(::getpid()) + extension);
}

inline void write_input(const std::filesystem::path& path, const std::string& prefix, const uint8_t* data,
                        size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace dtrain::fuzz
