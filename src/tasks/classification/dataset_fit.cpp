#include "tasks/classification/dataset_fit.h"

#include <algorithm>

#include "common/error.h"
#include "data/tokenizers/tokenizer.h"

namespace dtrain::tasks::classification {

void check_dataset_fits_model(const data::DatasetReader& dataset, const model::BertConfig& config,
                              const std::filesystem::path& model_folder) {
  const data::DatasetInfo& info = dataset.info();
  // The dataset's writer and reader guarantee every id is below info.vocab_size, so this bounds
  // every token id by the embedding's row count.
  DTRAIN_CHECK(info.vocab_size <= config.vocab_size,
               "{}: tokenized with a vocabulary of {} tokens, but the model in {} has only {} (vocab_size); "
               "prepare the data with the model's tokenizer",
               dataset.path().string(), info.vocab_size, model_folder.string(), config.vocab_size);
  int64_t longest = 0;
  for (int64_t sample = 0; sample < dataset.num_samples(); ++sample)
    longest = std::max(longest, dataset.sample_length(sample));
  DTRAIN_CHECK(longest <= config.max_position_embeddings,
               "{}: the longest sample has {} tokens, but the model in {} has only {} positions "
               "(max_position_embeddings); prepare the data with --max-length {}",
               dataset.path().string(), longest, model_folder.string(), config.max_position_embeddings,
               config.max_position_embeddings);
  if (!data::is_tokenizer_folder(model_folder)) return;
  const std::string model_sha256 = data::load_tokenizer(model_folder)->vocab_sha256();
  DTRAIN_CHECK(model_sha256 == info.vocab_sha256,
               "{}: tokenized with a different vocabulary (sha256 {}) than the tokenizer in {} (sha256 {}); "
               "prepare the data with the model's tokenizer",
               dataset.path().string(), info.vocab_sha256, model_folder.string(), model_sha256);
}

}  // namespace dtrain::tasks::classification
