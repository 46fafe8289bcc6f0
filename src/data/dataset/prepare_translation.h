#pragma once
// `dtrain prepare --task translation`: parallel text -> a translation dataset (dataset_format.h) of
// source ids (input_ids) and target ids (labels), tokenized as transformers' MarianTokenizer(source,
// text_target=target, truncation=True, max_length=...).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "data/tables/table_reader.h"
#include "data/tokenizers/tokenizer.h"

namespace dtrain::data {

struct TranslationPrepareOptions {
  // Either two files of one sentence per line, line i of one translating line i of the other ...
  std::filesystem::path source_file, target_file;
  // ... or one table with a source and a target column (for JSON Lines, "translation.en" reaches
  // into {"translation": {"en": ...}}, the Hugging Face datasets layout).
  std::filesystem::path input;
  std::optional<TableFormat> format;  // unset: from the input's extension
  bool has_header = true;
  std::string source_column, target_column;

  std::filesystem::path output;
  int max_source_length = 128;  // tokens per side, EOS included
  int max_target_length = 128;
  int threads = 0;  // 0: one per hardware thread
};

struct TranslationPrepareSummary {
  std::string source_file, output_file;
  int64_t pairs = 0;
  struct Side {
    int64_t tokens = 0, longest = 0, truncated = 0;
    int max_length = 0;
  } source, target;

  // One line: pairs, then tokens, mean/max length and truncated pairs of each side.
  std::string to_string() const;
};

// Tokenizes every pair with `tokenizer` (a Marian tokenizer; multi-threaded, output in input order)
// and writes the dataset; the output appears only when complete. Throws dtrain::Error naming
// file:line for a bad line (empty side, invalid UTF-8, files of different lengths).
TranslationPrepareSummary prepare_translation_dataset(const TranslationPrepareOptions& options,
                                                      const Tokenizer& tokenizer);

}  // namespace dtrain::data
