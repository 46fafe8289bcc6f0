#pragma once
// Whether a prepared dataset can be fed to a BERT model: its token ids must index the model's
// embedding, its samples fit the position embeddings, and, when the model folder carries its
// tokenizer (vocab.txt, or a Marian tokenizer's files), it must have been tokenized with that very
// vocabulary (else ids mean other words and the model silently computes nonsense).
#include <filesystem>

#include "data/dataset/dataset_reader.h"
#include "model/bert/bert_config.h"

namespace dtrain::tasks::classification {

// Throws dtrain::Error naming the dataset, the model folder and the mismatch.
void check_dataset_fits_model(const data::DatasetReader& dataset, const model::BertConfig& config,
                              const std::filesystem::path& model_folder);

}  // namespace dtrain::tasks::classification
