#pragma once
// The end-to-end check of `dtrain inspect`: every sample is read (so every token id, token type and
// target id is checked against its vocabulary, and every chunk's checksum is verified), and every
// sample must have the shape its tokenizer gives:
// - BERT datasets (token types, [CLS] and [SEP] ids): `[CLS] a [SEP]` with token type 0, optionally
//   followed by `b [SEP]` with token type 1;
// - no sample longer than max_length (max_target_length for targets);
// - regression targets finite; translation source and target ids ending with EOS (when the
//   tokenizer has one).
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset/dataset_reader.h"

namespace dtrain::data {

struct StreamSummary {
  std::string name;  // "input_ids", "token_type_ids", "labels"
  int64_t tokens = 0;
  int64_t shortest = 0, longest = 0;  // per sample
};

struct ValidationReport {
  std::vector<StreamSummary> streams;
  int64_t pairs = 0;                      // BERT datasets: samples with a second segment
  std::vector<int64_t> label_counts;      // classification: samples per class id
  double target_min = 0, target_max = 0;  // regression
};

// Throws dtrain::Error naming the file and the first sample that is not what it must be.
ValidationReport validate_dataset(const DatasetReader& reader);

}  // namespace dtrain::data
