#pragma once
// Translation with MarianMT, as transformers' Seq2SeqTrainer trains and evaluates MarianMTModel: the
// loss is token cross-entropy over the target tokens (with label_smoothing_factor as Trainer's
// LabelSmoother), so the loss unit is a target token and the loop divides by the global count.
// Evaluation reports the teacher-forced eval_loss, and with predict_with_generate also eval_bleu and
// eval_gen_len of generated translations (src/metrics); prediction writes one translation per line.
// Registered for translation datasets with model_type "marian".
#include <filesystem>
#include <memory>
#include <string>

#include "data/tokenizers/tokenizer.h"
#include "model/marian/marian_config.h"
#include "model/marian/marian_model.h"
#include "tasks/task.h"

namespace dtrain::tasks::translation {

// The config a task builds its model from: the folder's config.json, or the model section's fields
// with the vocabulary fields (vocab_size, pad/decoder start/eos ids) the dataset fixes filled in when
// absent.
model::MarianConfig model_config(const TaskSetup& setup);

class TranslationTask final : public Task {
 public:
  explicit TranslationTask(const TaskSetup& setup);

  std::string architecture() const override { return "MarianMTModel"; }
  torch::nn::Module& module() override { return *model_; }
  model::MarianMTModelImpl& model() { return *model_; }

  void check_dataset(const data::DatasetReader& dataset, DatasetRole role) const override;
  int64_t loss_units(const data::Batch& batch) const override;
  BatchLoss loss(const data::Batch& batch) override;
  nlohmann::json evaluate(const data::DatasetReader& dataset, dist::Communicator& comm,
                          const EvaluationOptions& options) override;
  PredictionSummary predict(const data::DatasetReader& dataset, dist::Communicator& comm,
                            const EvaluationOptions& options, const std::filesystem::path& output) override;
  void save_pretrained(const std::filesystem::path& folder) const override;
  void load_weights(const std::filesystem::path& folder) override;

 private:
  // The tokenizer that decodes generated ids: options.tokenizer_folder, else the model folder.
  const data::Tokenizer& tokenizer(const EvaluationOptions& options);

  std::filesystem::path source_;  // the model folder, or "model.config": named in errors
  c10::Device device_;
  double label_smoothing_factor_ = 0.0;
  model::MarianMTModel model_{nullptr};
  std::unique_ptr<data::Tokenizer> tokenizer_;
  std::filesystem::path tokenizer_folder_;
};

}  // namespace dtrain::tasks::translation
