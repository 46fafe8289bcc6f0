#pragma once
// Marian model folders in the layout of transformers' save_pretrained: config.json (model_type
// "marian"), model.safetensors (or shards with model.safetensors.index.json) and
// generation_config.json.
//
// Loading goes through load_hf_weights: a tied group may be stored under any of its names
// (model.shared.weight as transformers writes it, or model.encoder/decoder.embed_tokens.weight and
// lm_head.weight as in PyTorch pickles of older checkpoints), a missing final_logits_bias stays zero,
// and stored position tables are skipped (they are recomputed from the config).
#include <filesystem>

#include "model/hf/hf_checkpoint.h"
#include "model/marian/marian_config.h"
#include "model/marian/marian_model.h"

namespace dtrain::model {

// How MarianMTModel of this config names its weights (the tied aliases depend on the config).
HfArchitecture marian_mt_architecture(const MarianConfig& config);

// config.json of `folder`, parsed and validated as a Marian config.
MarianConfig read_marian_config(const std::filesystem::path& folder);

// config.json + weights + generation config (generation_config.json, else config.json's generation
// fields, as transformers does) of `folder`.
MarianMTModel load_marian_mt_model(const std::filesystem::path& folder);

// Writes model.safetensors, generation_config.json and config.json into `folder` (created if needed),
// each atomically and in that order; the folder loads with MarianMTModel.from_pretrained.
void save_marian_mt_model(const MarianMTModelImpl& model, const std::filesystem::path& folder);

}  // namespace dtrain::model
