// dtrain's MarianMTModel against transformers' MarianMTModel (tests/model/marian_reference.py) on the
// same weights: logits, losses (plain and label-smoothed) and every parameter's gradient, with folders
// crossing in both directions: transformers loads what dtrain saves (nothing missing or unexpected),
// and dtrain loads what transformers' save_pretrained writes (single file, shards, untied weights, and
// a file holding every tied alias and the position tables).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "model/marian/marian_checkpoint.h"
#include "model/marian/marian_model.h"
#include "model/tensor_files.h"
#include "model/token_loss.h"
#include "support/test_support.h"

namespace dtrain::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::read_json;
using testing::read_tensor;
using testing::TensorFolder;

MarianConfig small_config(int64_t vocab_size, int64_t d_model, int64_t encoder_heads, int64_t decoder_heads,
                          const std::string& activation) {
  MarianConfig config;
  config.vocab_size = vocab_size;
  config.d_model = d_model;
  config.encoder_layers = 2;
  config.decoder_layers = 3;
  config.encoder_attention_heads = encoder_heads;
  config.decoder_attention_heads = decoder_heads;
  config.encoder_ffn_dim = 48;
  config.decoder_ffn_dim = 40;
  config.max_position_embeddings = 40;
  config.activation_function = activation;
  config.pad_token_id = vocab_size - 1;
  config.decoder_start_token_id = vocab_size - 1;
  config.validate();
  return config;
}

// Helsinki-NLP/opus-mt-en-fr's config.json shapes (random weights).
MarianConfig opus_mt_en_fr_shapes() {
  MarianConfig config;
  config.vocab_size = 59514;
  config.decoder_vocab_size = 59514;
  config.d_model = 512;
  config.encoder_layers = 6;
  config.decoder_layers = 6;
  config.encoder_attention_heads = 8;
  config.decoder_attention_heads = 8;
  config.encoder_ffn_dim = 2048;
  config.decoder_ffn_dim = 2048;
  config.max_position_embeddings = 512;
  config.activation_function = "swish";
  config.scale_embedding = true;
  config.pad_token_id = 59513;
  config.decoder_start_token_id = 59513;
  config.validate();
  return config;
}

struct Batch {
  at::Tensor input_ids, attention_mask, decoder_input_ids, labels;
};

// Sources padded after random lengths (the first row unpadded), labels with a -100 tail of random
// length, decoder inputs = labels shifted right as in training.
Batch random_batch(const MarianConfig& config, int64_t batch_size, int64_t source_length,
                   int64_t target_length, at::Generator& generator) {
  Batch batch;
  batch.input_ids = at::randint(0, config.vocab_size - 1, {batch_size, source_length}, generator, at::kLong);
  batch.attention_mask = at::zeros({batch_size, source_length}, at::kLong);
  batch.labels =
      at::randint(0, config.target_vocab_size() - 1, {batch_size, target_length}, generator, at::kLong);
  for (int64_t row = 0; row < batch_size; ++row) {
    const int64_t length = row == 0
                               ? source_length
                               : at::randint(1, source_length + 1, {1}, generator, at::kLong).item<int64_t>();
    batch.attention_mask[row].narrow(0, 0, length).fill_(1);
    batch.input_ids[row].narrow(0, length, source_length - length).fill_(config.pad_token_id);
    const int64_t labelled = at::randint(1, target_length + 1, {1}, generator, at::kLong).item<int64_t>();
    batch.labels[row].narrow(0, labelled, target_length - labelled).fill_(-100);
  }
  batch.decoder_input_ids =
      shift_tokens_right(batch.labels, config.pad_token_id, config.decoder_start_token_id);
  return batch;
}

void write_batch(const Batch& batch, const fs::path& folder) {
  TensorFolder tensors(folder);
  tensors.add("input_ids", batch.input_ids);
  tensors.add("attention_mask", batch.attention_mask);
  tensors.add("decoder_input_ids", batch.decoder_input_ids);
  tensors.add("labels", batch.labels);
  tensors.write_manifest();
}

// Moves every weight off its initial value (biases, LayerNorm, padding rows, final_logits_bias) so
// that a mis-wired one cannot hide.
void perturb(MarianMTModelImpl& model, at::Generator& generator) {
  at::NoGradGuard no_grad;
  for (auto& parameter : model.parameters())
    parameter.add_(at::randn(parameter.sizes(), generator, at::kFloat) * 0.1);
  const at::Tensor& bias = model.final_logits_bias();
  const_cast<at::Tensor&>(bias).copy_(at::randn(bias.sizes(), generator, at::kFloat));
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

struct ForwardCase {
  std::string name;
  MarianConfig config;
  int64_t batch_size, source_length, target_length;
  double label_smoothing;
};

struct ForwardResult {
  at::Tensor logits;
  double loss, smoothed_loss;
  std::map<std::string, at::Tensor> gradients;
};

// Saves the model where the reference loads it, runs dtrain's forward and backward of the mean loss.
ForwardResult run_dtrain(const ForwardCase& c, const fs::path& folder) {
  at::Generator generator = at::detail::createCPUGenerator(2024);
  MarianMTModel model(c.config, /*seed=*/3);
  perturb(*model, generator);
  model->eval();
  save_marian_mt_model(*model, folder / "model");
  const Batch batch = random_batch(c.config, c.batch_size, c.source_length, c.target_length, generator);
  write_batch(batch, folder);
  testing::write_file(folder / "label_smoothing.json", json{{"label_smoothing", c.label_smoothing}}.dump());

  ForwardResult result;
  const at::Tensor logits = model->forward(batch.input_ids, batch.attention_mask, batch.decoder_input_ids);
  result.logits = logits.detach();
  // The losses and gradients come from token_loss, which projects only the labelled positions.
  const TokenLoss loss =
      model->token_loss(batch.input_ids, batch.attention_mask, batch.decoder_input_ids, batch.labels, 0.0);
  const TokenLoss smoothed = model->token_loss(batch.input_ids, batch.attention_mask, batch.decoder_input_ids,
                                               batch.labels, c.label_smoothing);
  const double count = loss.token_count.item<double>();
  result.loss = loss.sum.item<double>() / count;
  result.smoothed_loss = smoothed.sum.item<double>() / smoothed.token_count.item<double>();
  (loss.sum / count).backward();
  for (const auto& parameter : model->named_parameters())
    if (parameter.value().grad().defined()) result.gradients[parameter.key()] = parameter.value().grad();
  return result;
}

TEST(MarianReference, LogitsLossesAndGradientsMatchTransformers) {
  DTRAIN_REQUIRE_PYTHON("transformers");
  testing::ScratchDir scratch("marian-reference");
  MarianConfig unshared = small_config(64, 36, 4, 6, "gelu");
  unshared.share_encoder_decoder_embeddings = false;
  unshared.decoder_vocab_size = 50;
  unshared.pad_token_id = 49;
  unshared.decoder_start_token_id = 49;
  unshared.validate();
  MarianConfig untied = small_config(80, 33, 3, 11, "relu");  // odd d_model: 17 sine and 16 cosine columns
  untied.tie_word_embeddings = false;
  untied.validate();
  MarianConfig scaled = small_config(64, 32, 4, 2, "swish");
  scaled.scale_embedding = true;
  scaled.validate();
  const std::vector<ForwardCase> cases = {
      {"shared_scaled_swish", scaled, 3, 9, 7, 0.1},
      {"unshared_vocabularies", unshared, 2, 6, 11, 0.2},
      {"untied_lm_head_odd_width", untied, 4, 5, 5, 0.0},
      {"opus_mt_en_fr_shapes", opus_mt_en_fr_shapes(), 2, 11, 9, 0.1},
  };

  json plan = json::array();
  std::vector<ForwardResult> results;
  for (const ForwardCase& c : cases) {
    const fs::path folder = scratch / c.name;
    results.push_back(run_dtrain(c, folder));
    plan.push_back({{"kind", "forward"}, {"dir", folder.string()}, {"model", (folder / "model").string()}});
  }
  testing::write_file(scratch / "plan.json", plan.dump());
  const testing::CommandResult reference = testing::run_command(
      testing::python() + " " + (testing::source_dir() / "tests/model/marian_reference.py").string() + " " +
      (scratch / "plan.json").string());
  ASSERT_EQ(reference.exit_code, 0) << reference.output;

  for (size_t index = 0; index < cases.size(); ++index) {
    const ForwardCase& c = cases[index];
    const ForwardResult& result = results[index];
    const fs::path folder = scratch / c.name;
    SCOPED_TRACE(c.name);
    // transformers takes dtrain's folder as it is.
    const json info = read_json(folder / "load_info.json");
    for (const char* key : {"missing_keys", "unexpected_keys", "mismatched_keys"})
      EXPECT_TRUE(!info.contains(key) || info.at(key).empty()) << key << ": " << info.at(key).dump();

    const at::Tensor expected = read_tensor(folder / "logits.bin", result.logits.sizes());
    EXPECT_LE(max_difference(result.logits, expected), 1e-4);
    EXPECT_GT(expected.std().item<double>(), 0.1);  // not a vacuous comparison
    const json losses = read_json(folder / "loss.json");
    EXPECT_NEAR(result.loss, losses.at("loss").get<double>(), 1e-5);
    EXPECT_NEAR(result.smoothed_loss, losses.at("smoothed_loss").get<double>(), 1e-5);
    // Every parameter that takes part gets a gradient (with share_encoder_decoder_embeddings and untied
    // weights, transformers 5 leaves model.shared unused).
    const size_t embeddings = c.config.share_encoder_decoder_embeddings
                                  ? (c.config.tie_word_embeddings ? 1 : 3)
                                  : (c.config.tie_word_embeddings ? 2 : 3);
    EXPECT_EQ(result.gradients.size(),
              embeddings + 16 * c.config.encoder_layers + 26 * c.config.decoder_layers);
    for (const auto& [name, gradient] : result.gradients) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(fs::exists(folder / ("grad." + name + ".bin")));
      const at::Tensor expected_gradient = read_tensor(folder / ("grad." + name + ".bin"), gradient.sizes());
      // Within 1e-5 of the gradient's largest entry (absolute below 1).
      const double scale = std::max(1.0, expected_gradient.abs().max().item<double>());
      EXPECT_LE(max_difference(gradient, expected_gradient), 1e-5 * scale)
          << "largest entry " << expected_gradient.abs().max().item<double>();
    }
  }
}

struct TransformersFolder {
  std::string name;
  json config;  // MarianConfig(**config)
  json save_options;
};

json small_hf_config(bool share, bool tie) {
  json config = {{"vocab_size", 70},
                 {"d_model", 24},
                 {"encoder_layers", 2},
                 {"decoder_layers", 2},
                 {"encoder_attention_heads", 3},
                 {"decoder_attention_heads", 4},
                 {"encoder_ffn_dim", 40},
                 {"decoder_ffn_dim", 36},
                 {"max_position_embeddings", 32},
                 {"activation_function", "swish"},
                 {"scale_embedding", true},
                 {"pad_token_id", 69},
                 {"decoder_start_token_id", 69},
                 {"eos_token_id", 0},
                 {"forced_eos_token_id", 0},
                 {"share_encoder_decoder_embeddings", share},
                 {"tie_word_embeddings", tie}};
  if (!share) {
    config["decoder_vocab_size"] = 60;
    config["pad_token_id"] = 59;
    config["decoder_start_token_id"] = 59;
  }
  return config;
}

TEST(MarianReference, LoadsFoldersTransformersWrites) {
  DTRAIN_REQUIRE_PYTHON("transformers");
  testing::ScratchDir scratch("marian-hf-folders");
  const std::vector<TransformersFolder> folders = {
      {"single_file", small_hf_config(true, true), json::object()},
      {"sharded", small_hf_config(true, true), {{"max_shard_size", "20KB"}}},
      {"unshared_untied", small_hf_config(false, false), json::object()},
      {"every_alias_and_positions", small_hf_config(true, true), {{"legacy_names", true}}},
  };
  json plan = json::array();
  std::vector<Batch> batches;
  for (size_t index = 0; index < folders.size(); ++index) {
    const TransformersFolder& folder = folders[index];
    at::Generator generator = at::detail::createCPUGenerator(100 + index);
    MarianConfig config = MarianConfig::from_json(folder.config);
    batches.push_back(random_batch(config, 3, 8, 6, generator));
    write_batch(batches.back(), scratch / folder.name);
    json job = {{"kind", "save"},
                {"dir", (scratch / folder.name).string()},
                {"config", folder.config},
                {"seed", 7 + index}};
    job.update(folder.save_options);
    plan.push_back(job);
  }
  testing::write_file(scratch / "plan.json", plan.dump());
  const testing::CommandResult reference = testing::run_command(
      testing::python() + " " + (testing::source_dir() / "tests/model/marian_reference.py").string() + " " +
      (scratch / "plan.json").string());
  ASSERT_EQ(reference.exit_code, 0) << reference.output;

  for (size_t index = 0; index < folders.size(); ++index) {
    SCOPED_TRACE(folders[index].name);
    const fs::path folder = scratch / folders[index].name;
    if (folders[index].name == "sharded")
      EXPECT_TRUE(fs::exists(folder / "model/model.safetensors.index.json"));
    MarianMTModel model = load_marian_mt_model(folder / "model");
    model->eval();
    const Batch& batch = batches[index];
    at::Tensor logits;
    {
      at::NoGradGuard no_grad;
      logits = model->forward(batch.input_ids, batch.attention_mask, batch.decoder_input_ids);
    }
    const at::Tensor expected = read_tensor(folder / "logits.bin", logits.sizes());
    EXPECT_LE(max_difference(logits, expected), 1e-4);
    EXPECT_GT(expected.std().item<double>(), 0.1);
    // transformers' generation_config.json carries the model config's special tokens.
    const GenerationConfig& generation = model->generation_config();
    ASSERT_TRUE(generation.decoder_start_token_id.has_value());
    EXPECT_EQ(*generation.decoder_start_token_id, folders[index].config.at("decoder_start_token_id"));
    ASSERT_TRUE(generation.forced_eos_token_id.has_value());
    EXPECT_EQ(generation.forced_eos_token_id->ids, std::vector<int64_t>{0});
  }
}

}  // namespace
}  // namespace dtrain::model
