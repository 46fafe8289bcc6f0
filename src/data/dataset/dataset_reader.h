#pragma once
// Read-only access to a prepared dataset (see dataset_format.h). The offsets indexes are read once
// at open; read() fetches only the token ranges of the requested samples, so shuffled batches cost a
// few small hyperslab reads instead of a scan.
//
// Damaged files give a clear error, never a crash, a hang or different data: a format-2 file's
// checksum header is checked before libhdf5 reads it (see Verification), and libhdf5 checks the
// checksums of its metadata and of every chunk it reads. A format-1 file has no checksums: its
// metadata is first read in a child process (isolated_check.h), so that a crash or hang of
// libhdf5 on damaged metadata becomes an error.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset/dataset_format.h"

namespace dtrain::data {

// Samples in the order requested: sample j is [starts[j], starts[j+1]) of the token arrays.
struct SampleBlock {
  std::vector<int64_t> starts;  // size n+1, starts[0] == 0
  std::vector<int32_t> input_ids;
  std::vector<int8_t> token_type_ids;    // empty when the dataset has none
  std::vector<int64_t> class_labels;     // classification datasets
  std::vector<float> regression_labels;  // regression datasets
  // Translation datasets: sample j's target ids are [label_starts[j], label_starts[j+1]) of label_ids.
  std::vector<int64_t> label_starts;
  std::vector<int32_t> label_ids;
};

// How much of a file is checked when it is opened.
enum class Verification {
  // Format 2: the checksum header always (a cut-off file fails here), the SHA-256 of the whole file
  // when it is at most kWholeFileChecksumLimit bytes (larger files rely on libhdf5's checksums as
  // they are read). Format 1: the metadata and indexes are read in a child process first.
  at_open,
  // Format 2: the SHA-256 of the whole file, whatever its size. Format 1: every sample is also read
  // in the child process first. What `dtrain inspect` uses.
  everything,
};

// Above this size, Verification::at_open leaves the whole-file SHA-256 to `dtrain inspect`: every
// rank of a job opens its datasets, and hashing runs at about 1 GB/s per process.
inline constexpr uint64_t kWholeFileChecksumLimit = uint64_t{1} << 30;

// What the open-time checks established about the file.
struct FileIntegrity {
  bool checksum_header = false;      // format 2
  bool whole_file_verified = false;  // its SHA-256 matched the header's
  std::string sha256;                // recorded in the header ("" without one)
  uint64_t file_size = 0;
};

class DatasetReader {
 public:
  // Opens read-only and validates the checksums (see Verification), format name/version, required
  // datasets, their types and shapes, and the offsets indexes; throws dtrain::Error naming the file
  // and the problem.
  explicit DatasetReader(const std::filesystem::path& path,
                         Verification verification = Verification::at_open);
  ~DatasetReader();
  DatasetReader(DatasetReader&&) noexcept;
  DatasetReader& operator=(DatasetReader&&) noexcept;
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;

  [[nodiscard]] const DatasetInfo& info() const;
  [[nodiscard]] const FileIntegrity& integrity() const;
  [[nodiscard]] int64_t num_samples() const;
  [[nodiscard]] const std::vector<int64_t>& offsets() const;  // num_samples + 1 entries (input_ids)
  // Translation: the target stream's index (num_samples + 1 entries); empty otherwise.
  [[nodiscard]] const std::vector<int64_t>& label_offsets() const;
  [[nodiscard]] int64_t sample_length(int64_t i) const;  // input_ids tokens of sample i
  [[nodiscard]] const std::filesystem::path& path() const;

  // Reads the given samples (any order, repeats allowed). Throws on an index out of range, a token id
  // outside its vocabulary, or a token type other than 0/1. Safe to call from several threads: the
  // HDF5 library dtrain builds against is thread-safe and serializes the reads.
  [[nodiscard]] SampleBlock read(const std::vector<int64_t>& indices) const;

  // Throws a clear error when the dataset was tokenized with a different vocabulary than the model's
  // (size mismatch, or sha256 mismatch when vocab_sha256_or_empty is non-empty).
  void check_vocabulary(int model_vocab_size, const std::string& vocab_sha256_or_empty) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dtrain::data
