#pragma once
// `dtrain prepare`: a text table (TSV/CSV/JSONL) -> a tokenized HDF5 dataset (dataset_format.h).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset/dataset_format.h"
#include "data/tables/table_reader.h"
#include "data/tokenizers/bert_tokenizer.h"

namespace dtrain::data {

struct PrepareOptions {
  std::filesystem::path input, output;
  std::optional<TableFormat> format;  // unset: from the input's extension
  bool has_header = true;
  std::string text_a;
  std::optional<std::string> text_b;
  std::string label;
  std::vector<std::string> label_names;  // --labels: position = class id
  TaskType task = TaskType::classification;
  int max_length = 128;
  int threads = 0;  // 0: one per hardware thread
};

struct PrepareSummary {
  std::string source_file, output_file;
  int64_t rows = 0, tokens = 0, longest = 0, truncated = 0;
  int max_length = 0;
  std::vector<std::string> label_names;
  std::vector<int64_t> label_counts;                      // classification: rows per class id
  double target_min = 0, target_max = 0, target_sum = 0;  // regression

  // One line: rows, tokens, mean/max length, truncated rows, label histogram (or target range).
  std::string to_string() const;
};

// Tokenizes every row with `tokenizer` (multi-threaded, output in input order) and writes the
// dataset; the output appears only when complete. Throws dtrain::Error naming file:line for bad rows.
PrepareSummary prepare_dataset(const PrepareOptions& options, const BertTokenizer& tokenizer);

}  // namespace dtrain::data
