#pragma once
// Hugging Face model folders: config.json plus the weights in any layout from_pretrained reads
// (model.safetensors, pytorch_model.bin, or the shards of either, see model_weights.h), written the
// way save_pretrained writes them.
//
// Loading follows from_pretrained's rules: legacy LayerNorm.gamma/.beta names, checkpoints of the
// bare base model (no "bert." prefix), checkpoint tensors the model does not use (pretraining heads)
// are skipped, stored position_ids buffers are ignored, and a missing task head is left as
// initialised; what was skipped or newly initialised is logged as transformers' load report. Any
// other missing tensor, or a shape that differs, is an error.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/bert/bert_config.h"
#include "model/bert/bert_model.h"

namespace dtrain::model {

// How an architecture names its weights, for mapping checkpoint names onto parameter names.
struct HfArchitecture {
  std::string name;                        // e.g. "BertForSequenceClassification"
  std::string base_prefix;                 // prefix of the base model's parameters, e.g. "bert."
  std::vector<std::string> head_prefixes;  // parameters a checkpoint may lack (task head, pooler)
};

extern const HfArchitecture kBertForSequenceClassification;

// What loading did beyond copying a tensor into every parameter.
struct WeightLoadReport {
  std::vector<std::string> newly_initialized;  // head parameters missing from the checkpoint (MISSING)
  std::vector<std::string> unused;   // checkpoint tensors (as stored) the model has no use for (UNEXPECTED)
  std::vector<std::string> ignored;  // stored buffers the model computes instead (position_ids); not reported
};

// config.json of `folder` as JSON, whatever the model family. Throws dtrain::Error when the folder,
// the file or its JSON is missing or malformed.
nlohmann::json read_config_json(const std::filesystem::path& folder);

// config.json of `folder`, parsed and validated as a BERT config.
BertConfig read_hf_config(const std::filesystem::path& folder);

// Copies the folder's weights into `model`'s parameters (converting dtype), whose names must be the
// architecture's Hugging Face names. Throws dtrain::Error naming the file and tensor on a missing
// (non-head) tensor or a shape mismatch.
WeightLoadReport load_hf_weights(torch::nn::Module& model, const HfArchitecture& architecture,
                                 const std::filesystem::path& folder);

// config.json + weights of `folder` as a model (num_labels from the config's id2label).
BertForSequenceClassification load_bert_for_sequence_classification(const std::filesystem::path& folder);

// Writes a module as a Hugging Face model folder: model.safetensors (every named parameter, in
// order) and then `config` as config.json with "torch_dtype" set from the weights, each atomically,
// into `folder` (created if needed). Any model family saves through this.
void save_hf_folder(const torch::nn::Module& model, nlohmann::json config,
                    const std::filesystem::path& folder);

// save_hf_folder with BERT's config.json ("architectures" ["BertForSequenceClassification"]); the
// folder loads with transformers' BertForSequenceClassification.from_pretrained.
void save_hf_checkpoint(const BertForSequenceClassificationImpl& model, const std::filesystem::path& folder);

}  // namespace dtrain::model
