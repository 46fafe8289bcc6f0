#pragma once
// SHA-256 of files and byte strings (OpenSSL), as lowercase hex: dataset and vocabulary fingerprints.
#include <filesystem>
#include <string>
#include <string_view>

namespace dtrain {

std::string sha256_hex(std::string_view bytes);
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace dtrain
