#pragma once
// SHA-256 of files and byte strings (OpenSSL), as lowercase hex: dataset and vocabulary fingerprints.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace dtrain {

std::string sha256_hex(std::string_view bytes);
// Of the file's bytes from `from_offset` to its end.
std::string sha256_file_hex(const std::filesystem::path& path, uint64_t from_offset = 0);

}  // namespace dtrain
