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
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/bert/bert_config.h"
#include "model/bert/bert_model.h"

namespace dtrain::model {

// How an architecture names its weights, for mapping checkpoint names onto its state (parameters and
// buffers) and back.
struct HfArchitecture {
  std::string name;                        // e.g. "BertForSequenceClassification"
  std::string base_prefix;                 // prefix of the base model's parameters, e.g. "bert."
  std::vector<std::string> head_prefixes;  // parameters a checkpoint may lack (task head, pooler)
  // Tied weights: other checkpoint names of a parameter, by parameter name (transformers writes a tied
  // group once, under its first name; PyTorch pickles hold every alias). The parameter's own name wins
  // when both are stored.
  std::map<std::string, std::vector<std::string>> aliases;
  // State a checkpoint may lack without notice, left as initialised (transformers'
  // _keys_to_ignore_on_load_missing, e.g. Marian's final_logits_bias).
  std::vector<std::string> optional;
  // Name suffixes of state computed from the config (Marian's sinusoidal embed_positions.weight): never
  // loaded or saved; checkpoint tensors with such names are skipped without notice.
  std::vector<std::string> computed_suffixes;
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

// Copies the folder's weights into `model`'s parameters and buffers (converting dtype), whose names
// must be the architecture's Hugging Face names. Throws dtrain::Error naming the file and tensor on a
// missing (non-head, non-optional) tensor or a shape mismatch.
WeightLoadReport load_hf_weights(torch::nn::Module& model, const HfArchitecture& architecture,
                                 const std::filesystem::path& folder);

// config.json + weights of `folder` as a model (num_labels from the config's id2label).
BertForSequenceClassification load_bert_for_sequence_classification(const std::filesystem::path& folder);

// Writes `model`'s parameters and buffers, except computed ones, to a model.safetensors file
// (atomically), in registration order under their own names (a tied group once, as transformers
// does). Returns the dtype of the weights for config.json.
std::string write_hf_weights(const torch::nn::Module& model, const HfArchitecture& architecture,
                             const std::filesystem::path& file);

// Writes model.safetensors, then config.json ("architectures" ["BertForSequenceClassification"]),
// each atomically, into `folder` (created if needed); the folder loads with transformers'
// BertForSequenceClassification.from_pretrained.
void save_hf_checkpoint(const BertForSequenceClassificationImpl& model, const std::filesystem::path& folder);

}  // namespace dtrain::model
