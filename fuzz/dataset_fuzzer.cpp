// libFuzzer target: a prepared dataset file read the way `dtrain inspect` reads it. dtrain::Error is
// the expected outcome for damaged input; a crash, a sanitizer report, a timeout (-timeout=) or an
// out-of-memory (-rss_limit_mb=) is a bug.
//
// fuzz_dataset takes the input as the whole file, so most mutations meet the checksum header.
// Inputs that start with the HDF5 signature (format 1, no checksums) are skipped: dtrain reads those
// in a child process precisely because libhdf5 crashes on damaged ones (an overlapping memcpy in
// H5HG_read, which AddressSanitizer reports in the child), and tests/data/damaged_dataset_test.cpp
// checks that the crash stays contained.
// fuzz_dataset_sealed (DTRAIN_FUZZ_SEAL_INPUT) takes the input as the HDF5 part and writes a valid
// checksum header in front of it, so every mutation reaches libhdf5: what `train` meets on a file
// above the whole-file checksum limit. Seed either with prepared files (fuzz/README.md); for the
// sealed target, strip their first 512 bytes.
#include <algorithm>
#include <cstdint>
#include <numeric>

#include "common/error.h"
#include "data/dataset/dataset_reader.h"
#include "data/dataset/dataset_validation.h"
#include "data/dataset/file_checksum.h"
#include "fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path path = dtrain::fuzz::scratch_file(".h5");
#ifdef DTRAIN_FUZZ_SEAL_INPUT
  dtrain::fuzz::write_input(path, std::string(dtrain::data::kChecksumHeaderBytes, '\0'), data, size);
  if (size > 0) static_cast<void>(dtrain::data::write_checksum_header(path));
#else
  constexpr uint8_t kHdf5Signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (size >= sizeof kHdf5Signature &&
      std::equal(kHdf5Signature, kHdf5Signature + sizeof kHdf5Signature, data))
    return 0;
  dtrain::fuzz::write_input(path, "", data, size);
#endif
  try {
    const dtrain::data::DatasetReader reader(path, dtrain::data::Verification::everything);
    static_cast<void>(dtrain::data::validate_dataset(reader));
  } catch (const dtrain::Error&) {
  }
  return 0;
}
