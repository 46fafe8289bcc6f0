#include "data/dataset/dataset_reader.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include "common/error.h"
#include "data/dataset/dataset_attributes.h"
#include "data/dataset/file_checksum.h"
#include "data/dataset/hdf5.h"
#include "data/dataset/isolated_check.h"

namespace dtrain::data {
namespace {

// Token arrays up to this size stay entirely in HDF5's chunk cache once touched, so shuffled
// batches decompress each chunk once per process instead of once per batch.
constexpr size_t kMaxTokenCacheBytes = size_t{256} << 20;
// Samples per read when a format-1 file is read through in a child process.
constexpr int64_t kSamplesPerCheckRead = 8192;
constexpr const char* kRecreate = "re-create it with dtrain prepare (format 2 files carry checksums)";

struct ExpectedArray {
  const char* name;
  H5T_class_t type_class;
  size_t type_size;
  const char* type_name;
  int64_t elements;
  const char* elements_name;
};

hdf5::Dataset open_checked(const hdf5::File& file, const ExpectedArray& expected) {
  const size_t cache_bytes =
      std::min(kMaxTokenCacheBytes, static_cast<size_t>(expected.elements) * expected.type_size + (1 << 20));
  hdf5::Dataset dataset = file.open_dataset(expected.name, cache_bytes);
  const bool matches = dataset.rank() == 1 && dataset.type_class() == expected.type_class &&
                       dataset.type_size() == expected.type_size &&
                       (expected.type_class != H5T_INTEGER || dataset.is_signed());
  DTRAIN_CHECK(matches, "{}: expected a 1-D {} array", dataset.where(), expected.type_name);
  DTRAIN_CHECK(dataset.size() == expected.elements, "{}: has {} elements, expected {} ({})", dataset.where(),
               dataset.size(), expected.elements, expected.elements_name);
  return dataset;
}

// An offsets index of `num_samples` non-empty samples covering `total` tokens.
std::vector<int64_t> read_offsets(const hdf5::File& file, const char* name, int64_t num_samples,
                                  int64_t total, const char* total_name) {
  std::vector<int64_t> offsets =
      open_checked(file, {name, H5T_INTEGER, 8, "int64", num_samples + 1, "num_samples + 1"})
          .read_all<int64_t>();
  const std::string path = file.path().string();
  DTRAIN_CHECK(offsets.front() == 0, "{}: /{} must start at 0, found {}", path, name, offsets.front());
  for (int64_t i = 0; i < num_samples; ++i) {
    DTRAIN_CHECK(offsets[i] < offsets[i + 1], "{}: /{} is not increasing at sample {} ({} then {})", path,
                 name, i, offsets[i], offsets[i + 1]);
  }
  DTRAIN_CHECK(offsets.back() == total, "{}: /{} ends at {}, expected {} {}", path, name, offsets.back(),
               total_name, total);
  return offsets;
}

// The distinct samples of a request, sorted, and where each one's tokens land when they are read in
// that order.
struct SortedSamples {
  std::vector<int64_t> samples;
  std::vector<int64_t> positions;   // per sorted sample: first token in the sorted read
  std::vector<hdf5::Range> ranges;  // neighbouring samples merged
  int64_t tokens = 0;
};

SortedSamples sort_samples(std::vector<int64_t> samples, const std::vector<int64_t>& offsets) {
  SortedSamples sorted;
  std::sort(samples.begin(), samples.end());
  samples.erase(std::unique(samples.begin(), samples.end()), samples.end());
  sorted.samples = std::move(samples);
  for (const int64_t sample : sorted.samples) {
    const int64_t begin = offsets[sample], end = offsets[sample + 1];
    if (!sorted.ranges.empty() && sorted.ranges.back().end == begin) {
      sorted.ranges.back().end = end;
    } else {
      sorted.ranges.push_back({begin, end});
    }
    sorted.positions.push_back(sorted.tokens);
    sorted.tokens += end - begin;
  }
  return sorted;
}

// HDF5 returns a union of hyperslabs in file order, so a stream is read for the distinct samples
// sorted, then laid out in the requested order (`starts`, from the same offsets).
template <class T>
std::vector<T> read_stream(const hdf5::Dataset& dataset, const SortedSamples& sorted,
                           const std::vector<int64_t>& indices, const std::vector<int64_t>& starts) {
  std::vector<T> in_file_order(static_cast<size_t>(sorted.tokens));
  dataset.read_ranges(sorted.ranges, in_file_order.data());
  std::vector<T> values(static_cast<size_t>(starts.back()));
  for (size_t j = 0; j < indices.size(); ++j) {
    const size_t k =
        std::lower_bound(sorted.samples.begin(), sorted.samples.end(), indices[j]) - sorted.samples.begin();
    std::copy_n(in_file_order.begin() + sorted.positions[k], starts[j + 1] - starts[j],
                values.begin() + starts[j]);
  }
  return values;
}

std::vector<int64_t> sample_starts(const std::vector<int64_t>& indices, const std::vector<int64_t>& offsets) {
  std::vector<int64_t> starts{0};
  starts.reserve(indices.size() + 1);
  for (const int64_t index : indices) starts.push_back(starts.back() + offsets[index + 1] - offsets[index]);
  return starts;
}

// Throws on the first id outside [0, vocab_size), naming the sample it belongs to.
// `what` names the ids ("token id"), `vocabulary` their vocabulary.
void check_token_ids(const std::vector<int32_t>& ids, const std::vector<int64_t>& starts,
                     const std::vector<int64_t>& indices, int vocab_size, const std::string& path,
                     const char* what, const char* vocabulary) {
  for (size_t j = 0; j < indices.size(); ++j) {
    for (int64_t t = starts[j]; t < starts[j + 1]; ++t) {
      DTRAIN_CHECK(ids[t] >= 0 && ids[t] < vocab_size, "{}: sample {} has {} {} outside the {} (size {})",
                   path, indices[j], what, ids[t], vocabulary, vocab_size);
    }
  }
}

}  // namespace

struct DatasetReader::State {
  State(const std::filesystem::path& file_path, FileIntegrity file_integrity)
      : path(file_path),
        integrity(std::move(file_integrity)),
        file(hdf5::File::open_read_only(file_path)),
        info(read_info_attributes(file, integrity.checksum_header
                                            ? hdf5::StringStorage::fixed_length
                                            : hdf5::StringStorage::fixed_or_variable_length)),
        input_ids(
            open_checked(file, {kInputIds, H5T_INTEGER, 4, "int32", info.total_tokens, "total_tokens"})) {
    DTRAIN_CHECK(integrity.checksum_header || info.format_version == 1,
                 "{}: a format {} file without its checksum header (damaged?); {}", path.string(),
                 info.format_version, kRecreate);
    if (info.has_token_type_ids) {
      token_type_ids =
          open_checked(file, {kTokenTypeIds, H5T_INTEGER, 1, "int8", info.total_tokens, "total_tokens"});
    }
    offsets = read_offsets(file, kOffsets, info.num_samples, info.total_tokens, "total_tokens");
    read_labels();
  }

  void read_labels() {
    if (info.task == TaskType::classification) {
      class_labels = open_checked(file, {kLabels, H5T_INTEGER, 8, "int64", info.num_samples, "num_samples"})
                         .read_all<int64_t>();
      for (int64_t i = 0; i < info.num_samples; ++i) {
        DTRAIN_CHECK(class_labels[i] >= 0 && class_labels[i] < info.num_labels,
                     "{}: sample {} has label {}, outside [0, {})", path.string(), i, class_labels[i],
                     info.num_labels);
      }
    } else if (info.task == TaskType::regression) {
      regression_labels =
          open_checked(file, {kLabels, H5T_FLOAT, 4, "float32", info.num_samples, "num_samples"})
              .read_all<float>();
    } else {
      target_ids = open_checked(
          file, {kLabels, H5T_INTEGER, 4, "int32", info.total_target_tokens, "total_target_tokens"});
      label_offsets = read_offsets(file, kLabelOffsets, info.num_samples, info.total_target_tokens,
                                   "total_target_tokens");
    }
  }

  SampleBlock read(const std::vector<int64_t>& indices) const {
    for (const int64_t index : indices) {
      DTRAIN_CHECK(index >= 0 && index < info.num_samples,
                   "{}: sample index {} is out of range (num_samples {})", path.string(), index,
                   info.num_samples);
    }
    SampleBlock block;
    const SortedSamples sorted = sort_samples(indices, offsets);
    block.starts = sample_starts(indices, offsets);
    block.input_ids = read_stream<int32_t>(input_ids, sorted, indices, block.starts);
    check_token_ids(block.input_ids, block.starts, indices, info.vocab_size, path.string(), "token id",
                    "vocabulary");
    if (token_type_ids) {
      block.token_type_ids = read_stream<int8_t>(*token_type_ids, sorted, indices, block.starts);
      for (size_t j = 0; j < indices.size(); ++j) {
        for (int64_t t = block.starts[j]; t < block.starts[j + 1]; ++t) {
          DTRAIN_CHECK(block.token_type_ids[t] == 0 || block.token_type_ids[t] == 1,
                       "{}: sample {} has token type {} (expected 0 or 1)", path.string(), indices[j],
                       block.token_type_ids[t]);
        }
      }
    }
    for (const int64_t index : indices) {
      if (info.task == TaskType::classification) block.class_labels.push_back(class_labels[index]);
      if (info.task == TaskType::regression) block.regression_labels.push_back(regression_labels[index]);
    }
    if (target_ids) {
      const SortedSamples sorted_targets = sort_samples(indices, label_offsets);
      block.label_starts = sample_starts(indices, label_offsets);
      block.label_ids = read_stream<int32_t>(*target_ids, sorted_targets, indices, block.label_starts);
      check_token_ids(block.label_ids, block.label_starts, indices, info.target_vocab_size, path.string(),
                      "target id", "target vocabulary");
    }
    return block;
  }

  std::filesystem::path path;
  FileIntegrity integrity;
  hdf5::File file;
  DatasetInfo info;
  hdf5::Dataset input_ids;
  std::optional<hdf5::Dataset> token_type_ids, target_ids;
  std::vector<int64_t> offsets, label_offsets, class_labels;
  std::vector<float> regression_labels;
};

namespace {

// A format-1 file has no checksums, and libhdf5 trusts what it reads: damaged metadata can crash it
// (a variable-length string read through a damaged global heap) or make it loop forever. So the file
// is read once in a child process; only if that completes is it opened here. The budget is generous
// (a healthy file's metadata takes milliseconds) and grows with what has to be inflated.
template <class OpenState>
void check_format_1_in_child(const std::filesystem::path& path, Verification verification,
                             const OpenState& open) {
  const auto file_size = std::filesystem::file_size(path);
  const double bytes_per_second = verification == Verification::everything ? 16e6 : 256e6;
  const auto timeout =
      std::chrono::milliseconds(10000 + static_cast<int64_t>(1e3 * file_size / bytes_per_second));
  const IsolatedOutcome outcome = run_isolated(
      [&] {
        const auto state = open();
        if (verification != Verification::everything) return;
        for (int64_t first = 0; first < state->info.num_samples; first += kSamplesPerCheckRead) {
          std::vector<int64_t> indices(std::min(kSamplesPerCheckRead, state->info.num_samples - first));
          std::iota(indices.begin(), indices.end(), first);
          static_cast<void>(state->read(indices));
        }
      },
      timeout);
  switch (outcome.kind) {
    case IsolatedOutcome::Kind::completed:
      return;
    case IsolatedOutcome::Kind::failed:
      throw Error(outcome.error);
    case IsolatedOutcome::Kind::crashed:
      DTRAIN_FAIL(
          "{}: the file is damaged: libhdf5 crashed reading it ({}; format 1 files have no checksums); {}",
          path.string(), outcome.error, kRecreate);
    case IsolatedOutcome::Kind::timed_out:
      DTRAIN_FAIL(
          "{}: the file is damaged: libhdf5 did not finish reading it in {} s (format 1 files have no "
          "checksums); {}",
          path.string(), timeout.count() / 1000, kRecreate);
  }
}

}  // namespace

DatasetReader::DatasetReader(const std::filesystem::path& path, Verification verification) {
  FileIntegrity integrity;
  if (const std::optional<ChecksumHeader> header = read_checksum_header(path)) {
    integrity.checksum_header = true;
    integrity.sha256 = header->sha256;
    integrity.file_size = header->file_size;
    if (verification == Verification::everything || header->file_size <= kWholeFileChecksumLimit) {
      verify_checksum(path, *header);
      integrity.whole_file_verified = true;
    }
  } else {
    integrity.file_size = std::filesystem::file_size(path);
    check_format_1_in_child(path, verification, [&] { return std::make_unique<State>(path, integrity); });
  }
  state_ = std::make_unique<State>(path, integrity);
}

DatasetReader::~DatasetReader() = default;
DatasetReader::DatasetReader(DatasetReader&&) noexcept = default;
DatasetReader& DatasetReader::operator=(DatasetReader&&) noexcept = default;

const DatasetInfo& DatasetReader::info() const {
  return state_->info;
}
const FileIntegrity& DatasetReader::integrity() const {
  return state_->integrity;
}
int64_t DatasetReader::num_samples() const {
  return state_->info.num_samples;
}
const std::vector<int64_t>& DatasetReader::offsets() const {
  return state_->offsets;
}
const std::vector<int64_t>& DatasetReader::label_offsets() const {
  return state_->label_offsets;
}
const std::filesystem::path& DatasetReader::path() const {
  return state_->path;
}

int64_t DatasetReader::sample_length(int64_t i) const {
  DTRAIN_CHECK(i >= 0 && i < num_samples(), "{}: sample index {} is out of range (num_samples {})",
               state_->path.string(), i, num_samples());
  return state_->offsets[i + 1] - state_->offsets[i];
}

SampleBlock DatasetReader::read(const std::vector<int64_t>& indices) const {
  return state_->read(indices);
}

void DatasetReader::check_vocabulary(int model_vocab_size, const std::string& vocab_sha256_or_empty) const {
  const DatasetInfo& info = state_->info;
  DTRAIN_CHECK(
      info.vocab_size == model_vocab_size,
      "{}: tokenized with a vocabulary of {} tokens, but the model has {}; run dtrain prepare with the "
      "model's tokenizer",
      state_->path.string(), info.vocab_size, model_vocab_size);
  DTRAIN_CHECK(
      vocab_sha256_or_empty.empty() || vocab_sha256_or_empty == info.vocab_sha256,
      "{}: tokenized with a different vocabulary (sha256 {}) than the model's ({}); run dtrain prepare "
      "with the model's tokenizer",
      state_->path.string(), info.vocab_sha256, vocab_sha256_or_empty);
}

}  // namespace dtrain::data
