#pragma once
// A small, learnable sentence-pair classification task with its own vocabulary, so dtrain can be
// tried end to end without downloads: label 1 when the first sentence holds more of a set of 25
// "marked" words than the second.
#include <cstdint>
#include <filesystem>

namespace dtrain::data {

struct SyntheticTaskFiles {
  std::filesystem::path tokenizer_folder;  // holds vocab.txt, loadable by BertTokenizer::from_folder
  std::filesystem::path train, dev;        // GLUE-style TSVs: sentence1, sentence2, label
};

// Writes the task under `folder` (created if needed). The same seed gives the same files everywhere.
SyntheticTaskFiles write_synthetic_task(const std::filesystem::path& folder, int64_t train_rows,
                                        int64_t dev_rows, uint64_t seed);

}  // namespace dtrain::data
