#include "data/dataset/dataset_reader.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"
#include "data/dataset/dataset_attributes.h"
#include "data/dataset/hdf5.h"

namespace dtrain::data {
namespace {

// Token arrays up to this size stay entirely in HDF5's chunk cache once touched, so shuffled
// batches decompress each chunk once per process instead of once per batch.
constexpr size_t kMaxTokenCacheBytes = size_t{256} << 20;

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

}  // namespace

struct DatasetReader::State {
  explicit State(const std::filesystem::path& file_path)
      : path(file_path),
        file(hdf5::File::open_read_only(file_path)),
        info(read_info_attributes(file)),
        input_ids(
            open_checked(file, {kInputIds, H5T_INTEGER, 4, "int32", info.total_tokens, "total_tokens"})),
        token_type_ids(
            open_checked(file, {kTokenTypeIds, H5T_INTEGER, 1, "int8", info.total_tokens, "total_tokens"})) {
    read_index();
    read_labels();
  }

  void read_index() {
    offsets = open_checked(file, {kOffsets, H5T_INTEGER, 8, "int64", info.num_samples + 1, "num_samples + 1"})
                  .read_all<int64_t>();
    DTRAIN_CHECK(offsets.front() == 0, "{}: /offsets must start at 0, found {}", path.string(),
                 offsets.front());
    for (int64_t i = 0; i < info.num_samples; ++i) {
      DTRAIN_CHECK(offsets[i] < offsets[i + 1], "{}: /offsets is not increasing at sample {} ({} then {})",
                   path.string(), i, offsets[i], offsets[i + 1]);
    }
    DTRAIN_CHECK(offsets.back() == info.total_tokens, "{}: /offsets ends at {}, expected total_tokens {}",
                 path.string(), offsets.back(), info.total_tokens);
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
    } else {
      regression_labels =
          open_checked(file, {kLabels, H5T_FLOAT, 4, "float32", info.num_samples, "num_samples"})
              .read_all<float>();
    }
  }

  std::filesystem::path path;
  hdf5::File file;
  DatasetInfo info;
  hdf5::Dataset input_ids, token_type_ids;
  std::vector<int64_t> offsets, class_labels;
  std::vector<float> regression_labels;
};

DatasetReader::DatasetReader(const std::filesystem::path& path) : state_(std::make_unique<State>(path)) {}
DatasetReader::~DatasetReader() = default;
DatasetReader::DatasetReader(DatasetReader&&) noexcept = default;
DatasetReader& DatasetReader::operator=(DatasetReader&&) noexcept = default;

const DatasetInfo& DatasetReader::info() const {
  return state_->info;
}
int64_t DatasetReader::num_samples() const {
  return state_->info.num_samples;
}
const std::vector<int64_t>& DatasetReader::offsets() const {
  return state_->offsets;
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
  const State& s = *state_;
  // HDF5 returns a union of hyperslabs in file order, so read the distinct samples sorted, with
  // neighbouring samples merged into one range, then lay them out in the requested order.
  std::vector<int64_t> sorted = indices;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  if (!sorted.empty()) {
    DTRAIN_CHECK(sorted.front() >= 0 && sorted.back() < num_samples(),
                 "{}: sample index {} is out of range (num_samples {})", s.path.string(),
                 sorted.front() < 0 ? sorted.front() : sorted.back(), num_samples());
  }
  std::vector<hdf5::Range> ranges;
  std::vector<int64_t> position_in_sorted(sorted.size());  // where each distinct sample lands
  int64_t read_tokens = 0;
  for (size_t k = 0; k < sorted.size(); ++k) {
    const int64_t begin = s.offsets[sorted[k]], end = s.offsets[sorted[k] + 1];
    if (!ranges.empty() && ranges.back().end == begin) {
      ranges.back().end = end;
    } else {
      ranges.push_back({begin, end});
    }
    position_in_sorted[k] = read_tokens;
    read_tokens += end - begin;
  }
  std::vector<int32_t> sorted_ids(static_cast<size_t>(read_tokens));
  std::vector<int8_t> sorted_types(static_cast<size_t>(read_tokens));
  s.input_ids.read_ranges(ranges, sorted_ids.data());
  s.token_type_ids.read_ranges(ranges, sorted_types.data());

  SampleBlock block;
  block.starts.reserve(indices.size() + 1);
  block.starts.push_back(0);
  for (const int64_t index : indices) block.starts.push_back(block.starts.back() + sample_length(index));
  block.input_ids.resize(static_cast<size_t>(block.starts.back()));
  block.token_type_ids.resize(block.input_ids.size());
  for (size_t j = 0; j < indices.size(); ++j) {
    const int64_t index = indices[j];
    const size_t k = std::lower_bound(sorted.begin(), sorted.end(), index) - sorted.begin();
    const int64_t from = position_in_sorted[k], length = sample_length(index);
    for (int64_t t = 0; t < length; ++t) {
      const int32_t id = sorted_ids[from + t];
      DTRAIN_CHECK(id >= 0 && id < s.info.vocab_size,
                   "{}: sample {} has token id {} outside the vocabulary (size {})", s.path.string(), index,
                   id, s.info.vocab_size);
    }
    std::copy_n(sorted_ids.begin() + from, length, block.input_ids.begin() + block.starts[j]);
    std::copy_n(sorted_types.begin() + from, length, block.token_type_ids.begin() + block.starts[j]);
    if (s.info.task == TaskType::classification) {
      block.class_labels.push_back(s.class_labels[index]);
    } else {
      block.regression_labels.push_back(s.regression_labels[index]);
    }
  }
  return block;
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
