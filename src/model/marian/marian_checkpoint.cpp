#include "model/marian/marian_checkpoint.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "model/config_fields.h"

namespace dtrain::model {
namespace fs = std::filesystem;

HfArchitecture marian_mt_architecture(const MarianConfig& config) {
  HfArchitecture architecture;
  architecture.name = "MarianMTModel";
  architecture.base_prefix = "model.";
  const std::string shared = "model.shared.weight";
  const std::string encoder_embedding = "model.encoder.embed_tokens.weight";
  const std::string decoder_embedding = "model.decoder.embed_tokens.weight";
  if (config.share_encoder_decoder_embeddings && config.tie_word_embeddings) {
    architecture.aliases[shared] = {encoder_embedding, decoder_embedding, "lm_head.weight"};
  } else if (config.share_encoder_decoder_embeddings) {
    // Separate parameters in transformers 5 (see MarianModelImpl); checkpoints of transformers 4, where
    // both sides used `shared`, store it only once.
    architecture.aliases[encoder_embedding] = {shared};
    architecture.aliases[decoder_embedding] = {shared};
  } else if (config.tie_word_embeddings) {
    architecture.aliases[decoder_embedding] = {"lm_head.weight"};
  }
  architecture.optional = {"final_logits_bias"};
  architecture.computed_suffixes = {"embed_positions.weight"};
  return architecture;
}

MarianConfig read_marian_config(const fs::path& folder) {
  DTRAIN_CHECK(fs::is_directory(folder), "model folder {} does not exist", folder.string());
  const fs::path path = folder / "config.json";
  DTRAIN_CHECK(fs::exists(path), "cannot open {}: a model folder needs config.json", path.string());
  return MarianConfig::from_json(read_json_file(path.string()), path.string());
}

MarianMTModel load_marian_mt_model(const fs::path& folder) {
  const MarianConfig config = read_marian_config(folder);
  MarianMTModel model(config);
  load_hf_weights(*model, marian_mt_architecture(config), folder);
  model->set_generation_config(GenerationConfig::read(folder));
  return model;
}

void save_marian_mt_model(const MarianMTModelImpl& model, const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  DTRAIN_CHECK(!error, "cannot create model folder {}: {}", folder.string(), error.message());
  MarianConfig config = model.config();
  config.architectures = {"MarianMTModel"};
  // config.json last: a folder with a config.json is complete.
  config.dtype = write_hf_weights(model, marian_mt_architecture(config), folder / "model.safetensors");
  model.generation_config().write(folder);
  write_text_atomically(folder / "config.json", config.to_json().dump(2) + "\n");
}

}  // namespace dtrain::model
