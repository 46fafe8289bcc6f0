#include "tasks/translation/translation_task.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/dataset/dataset_reader.h"
#include "data/loading/collate.h"
#include "dist/communicator.h"
#include "metrics/translation_metrics.h"
#include "model/marian/marian_checkpoint.h"
#include "model/token_loss.h"
#include "tasks/task_registry.h"
#include "tasks/translation/generation_eval.h"

namespace dtrain::tasks::translation {
namespace fs = std::filesystem;

namespace {

const TaskRegistration kTranslation(data::TaskType::translation, "marian", [](const TaskSetup& setup) {
  return std::make_unique<TranslationTask>(setup);
});

fs::path source_name(const ModelSource& source) {
  return source.folder.empty() ? fs::path("model.config") : source.folder;
}

at::Tensor to_tensor(const std::vector<int64_t>& values, int64_t rows, int64_t columns,
                     const c10::Device& device) {
  return at::from_blob(const_cast<int64_t*>(values.data()), {rows, columns}, at::kLong).to(device);
}

// The generation settings of an evaluation: the model's generation config, with Seq2SeqTrainingArguments'
// generation_max_length and generation_num_beams on top when set (as Seq2SeqTrainer passes them to
// generate()).
model::GenerationConfig generation_config(const model::MarianMTModelImpl& model,
                                          const EvaluationOptions& options) {
  model::GenerationConfig config = model.generation_config();
  if (options.generation_max_length) config.max_length = *options.generation_max_length;
  if (options.generation_num_beams) config.num_beams = *options.generation_num_beams;
  return config;
}

std::vector<int32_t> as_token_ids(const std::vector<int64_t>& ids) {
  return std::vector<int32_t>(ids.begin(), ids.end());
}

}  // namespace

model::MarianConfig model_config(const TaskSetup& setup) {
  if (!setup.model.folder.empty()) return model::read_marian_config(setup.model.folder);
  DTRAIN_CHECK(setup.model.config.is_object(),
               "model.config: expected the config.json fields of a Marian model");
  nlohmann::json fields = setup.model.config;
  // The dataset's tokenizer fixes the vocabulary fields; a config may leave them out.
  const data::DatasetInfo& info = setup.dataset.info();
  const auto fill = [&](const char* name, const nlohmann::json& value) {
    if (!fields.contains(name)) fields[name] = value;
  };
  fill("model_type", "marian");
  fill("vocab_size", info.vocab_size);
  if (info.target_vocab_size != info.vocab_size) {
    fill("share_encoder_decoder_embeddings", false);
    fill("decoder_vocab_size", info.target_vocab_size);
  }
  fill("pad_token_id", info.pad_id);
  fill("decoder_start_token_id", info.decoder_start_token_id);
  if (info.eos_id != data::kNoTokenId) {
    fill("eos_token_id", info.eos_id);
    fill("forced_eos_token_id", info.eos_id);
  }
  return model::MarianConfig::from_json(fields, "model.config");
}

TranslationTask::TranslationTask(const TaskSetup& setup)
    : source_(source_name(setup.model)),
      device_(setup.device),
      label_smoothing_factor_(setup.label_smoothing_factor) {
  if (setup.model.folder.empty()) {
    model_ = model::MarianMTModel(model_config(setup), setup.seed);
  } else {
    model_ = model::load_marian_mt_model(setup.model.folder);
  }
  check_dataset(setup.dataset,
                setup.purpose == Purpose::kTraining ? DatasetRole::kTraining : DatasetRole::kPrediction);
  model_->to(device_);
}

void TranslationTask::check_dataset(const data::DatasetReader& dataset, DatasetRole) const {
  const data::DatasetInfo& info = dataset.info();
  const std::string where = dataset.path().string();
  const model::MarianConfig& config = model_->config();
  DTRAIN_CHECK(info.task == data::TaskType::translation, "{}: a {} dataset, but {} is a translation model",
               where, data::task_name(info.task), source_.string());
  DTRAIN_CHECK(
      info.vocab_size == config.vocab_size && info.target_vocab_size == config.target_vocab_size(),
      "{}: tokenized with vocabularies of {} (source) and {} (target) tokens, but the model in {} has {} "
      "and {}: prepare the data with the model's tokenizer",
      where, info.vocab_size, info.target_vocab_size, source_.string(), config.vocab_size,
      config.target_vocab_size());
  DTRAIN_CHECK(
      info.decoder_start_token_id == config.decoder_start_token_id && info.pad_id == config.pad_token_id,
      "{}: pad id {} and decoder start {} differ from the model's ({} and {} in {})", where, info.pad_id,
      info.decoder_start_token_id, config.pad_token_id, config.decoder_start_token_id, source_.string());
  DTRAIN_CHECK(info.max_length <= config.max_position_embeddings &&
                   info.max_target_length <= config.max_position_embeddings,
               "{}: up to {} source and {} target tokens per sample, but the model in {} has {} positions",
               where, info.max_length, info.max_target_length, source_.string(),
               config.max_position_embeddings);
  if (!source_.empty() && data::is_tokenizer_folder(source_)) {
    const auto tokenizer = data::load_tokenizer(source_);
    DTRAIN_CHECK(tokenizer->vocab_sha256() == info.vocab_sha256,
                 "{}: tokenized with another vocabulary than the tokenizer of {} (vocab sha256 {} vs {})",
                 where, source_.string(), info.vocab_sha256.substr(0, 12),
                 tokenizer->vocab_sha256().substr(0, 12));
  }
}

int64_t TranslationTask::loss_units(const data::Batch& batch) const {
  return batch.num_target_tokens;
}

BatchLoss TranslationTask::loss(const data::Batch& batch) {
  const model::TokenLoss loss = model_->token_loss(
      to_tensor(batch.input_ids, batch.batch_size, batch.seq_len, device_),
      to_tensor(batch.attention_mask, batch.batch_size, batch.seq_len, device_),
      to_tensor(batch.decoder_input_ids, batch.batch_size, batch.target_len, device_),
      to_tensor(batch.labels, batch.batch_size, batch.target_len, device_), label_smoothing_factor_);
  return {loss.sum, batch.num_target_tokens};
}

const data::Tokenizer& TranslationTask::tokenizer(const EvaluationOptions& options) {
  const fs::path folder = !options.tokenizer_folder.empty() ? options.tokenizer_folder : source_;
  if (tokenizer_ && folder == tokenizer_folder_) return *tokenizer_;
  DTRAIN_CHECK(data::is_tokenizer_folder(folder),
               "generated translations are decoded with the tokenizer: set data.tokenizer to the tokenizer "
               "folder the data was prepared with (or use a model folder that holds it)");
  tokenizer_ = data::load_tokenizer(folder);
  tokenizer_folder_ = folder;
  return *tokenizer_;
}

nlohmann::json TranslationTask::evaluate(const data::DatasetReader& dataset, dist::Communicator& comm,
                                         const EvaluationOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  EvaluationPass pass;
  pass.label_smoothing_factor = label_smoothing_factor_;
  const data::Tokenizer* decoder = nullptr;
  if (options.predict_with_generate) {
    decoder = &tokenizer(options);
    pass.generation = generation_config(*model_, options);
  }
  const EvaluationResult result = run_evaluation(*model_, dataset, comm, options.batch_size, pass);
  if (comm.rank() != 0) return nlohmann::json::object();

  nlohmann::json metrics;
  metrics["eval_loss"] =
      result.target_tokens > 0 ? result.loss_sum / static_cast<double>(result.target_tokens) : 0.0;
  if (decoder) {
    // As the Hugging Face course's compute_metrics: predictions and labels (-100 as pad) decoded
    // without special tokens.
    std::vector<std::string> predictions, references;
    for (const auto& ids : result.generated) predictions.push_back(decoder->decode(as_token_ids(ids), true));
    std::vector<int64_t> indices(static_cast<size_t>(dataset.num_samples()));
    for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int64_t>(i);
    const data::SampleBlock block = dataset.read(indices);
    for (size_t i = 0; i < indices.size(); ++i) {
      references.push_back(
          decoder->decode(std::vector<int32_t>(block.label_ids.begin() + block.label_starts[i],
                                               block.label_ids.begin() + block.label_starts[i + 1]),
                          true));
    }
    const nlohmann::json scores =
        metrics::translation_metrics(predictions, references, result.generated, dataset.info().pad_id);
    for (const auto& [name, value] : scores.items()) metrics["eval_" + name] = value;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics["eval_samples"] = dataset.num_samples();
  metrics["eval_runtime"] = seconds;
  metrics["eval_samples_per_second"] = static_cast<double>(dataset.num_samples()) / seconds;
  return metrics;
}

PredictionSummary TranslationTask::predict(const data::DatasetReader& dataset, dist::Communicator& comm,
                                           const EvaluationOptions& options, const fs::path& output) {
  const data::Tokenizer& decoder = tokenizer(options);
  EvaluationPass pass;
  pass.compute_loss = false;
  pass.generation = generation_config(*model_, options);
  const EvaluationResult result = run_evaluation(*model_, dataset, comm, options.batch_size, pass);
  if (comm.rank() != 0) return {};
  std::string text;
  for (const auto& ids : result.generated) text += decoder.decode(as_token_ids(ids), true) + "\n";
  write_text_atomically(output, text);
  return {static_cast<int64_t>(result.generated.size()), ""};
}

void TranslationTask::save_pretrained(const fs::path& folder) const {
  model::save_marian_mt_model(*model_, folder);
}

void TranslationTask::load_weights(const fs::path& folder) {
  model::load_hf_weights(*model_, model::marian_mt_architecture(model_->config()), folder);
}

}  // namespace dtrain::tasks::translation
