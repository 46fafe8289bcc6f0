#pragma once
// Read-only access to a prepared dataset (see dataset_format.h). The offsets index is read once at
// open; read() fetches only the token ranges of the requested samples, so shuffled batches cost a
// few small hyperslab reads instead of a scan.
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
  std::vector<int8_t> token_type_ids;
  std::vector<int64_t> class_labels;     // classification datasets
  std::vector<float> regression_labels;  // regression datasets
};

class DatasetReader {
 public:
  // Opens read-only and validates format name/version, required datasets, their types and shapes,
  // and the offsets index; throws dtrain::Error naming the file and the problem.
  explicit DatasetReader(const std::filesystem::path& path);
  ~DatasetReader();
  DatasetReader(DatasetReader&&) noexcept;
  DatasetReader& operator=(DatasetReader&&) noexcept;
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;

  [[nodiscard]] const DatasetInfo& info() const;
  [[nodiscard]] int64_t num_samples() const;
  [[nodiscard]] const std::vector<int64_t>& offsets() const;  // num_samples + 1 entries
  [[nodiscard]] int64_t sample_length(int64_t i) const;
  [[nodiscard]] const std::filesystem::path& path() const;

  // Reads the given samples (any order, repeats allowed). Throws on an index out of range or a
  // token id outside the vocabulary. Safe to call from several threads: the HDF5 library dtrain
  // builds against is thread-safe and serializes the reads.
  [[nodiscard]] SampleBlock read(const std::vector<int64_t>& indices) const;

  // Throws a clear error when the dataset was tokenized with a different vocabulary than the model's
  // (size mismatch, or sha256 mismatch when vocab_sha256_or_empty is non-empty).
  void check_vocabulary(int model_vocab_size, const std::string& vocab_sha256_or_empty) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dtrain::data
