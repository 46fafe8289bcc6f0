#pragma once
// The checksum header of a format-2 dataset file. Its first 512 bytes are an HDF5 user block, which
// libhdf5 and h5py skip; dtrain fills it, once the HDF5 file is complete, with one line of JSON
// padded with NUL bytes:
//
//   {"format":"dtrain.checksum","version":1,"size":<file bytes>,"sha256":"<hex>"}
//
// `sha256` covers the bytes after the header, to the end of the file. The header travels with the
// file (a sidecar could be lost), and is checked before libhdf5 parses anything: a file that was cut
// off, extended or altered is refused before a damaged HDF5 structure can crash or hang the reader.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace dtrain::data {

inline constexpr size_t kChecksumHeaderBytes = 512;

struct ChecksumHeader {
  uint64_t file_size = 0;  // the whole file, header included
  std::string sha256;      // of bytes [kChecksumHeaderBytes, file_size)
};

// Hashes a closed file that was created with a kChecksumHeaderBytes user block, and writes the
// header into that block.
ChecksumHeader write_checksum_header(const std::filesystem::path& path);

// The header of a file; nullopt for a file that starts with the HDF5 signature instead (format 1,
// or HDF5 files dtrain did not write). Throws a user-facing error when the header is damaged, when
// the file is neither, or when its size differs from the recorded one.
std::optional<ChecksumHeader> read_checksum_header(const std::filesystem::path& path);

// Throws a user-facing error when the bytes after the header do not hash to header.sha256.
void verify_checksum(const std::filesystem::path& path, const ChecksumHeader& header);

}  // namespace dtrain::data
