// generate() against transformers' MarianMTModel.generate() (tests/model/marian_reference.py) on the
// same weights and inputs: token for token, for greedy and beam search over the generation_config.json
// fields dtrain implements, on a small random model and on opus-mt-en-fr's shapes, with batches whose
// sources have very different lengths.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include "model/generation/generate.h"
#include "model/marian/marian_checkpoint.h"
#include "model/marian/marian_model.h"
#include "model/tensor_files.h"
#include "model/token_loss.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kEos = 0;

MarianConfig small_generation_config() {
  MarianConfig config;
  config.vocab_size = 40;
  config.d_model = 32;
  config.encoder_layers = 2;
  config.decoder_layers = 2;
  config.encoder_attention_heads = 4;
  config.decoder_attention_heads = 2;
  config.encoder_ffn_dim = 64;
  config.decoder_ffn_dim = 48;
  config.max_position_embeddings = 512;
  config.activation_function = "swish";
  config.scale_embedding = true;
  config.dropout = 0.0;
  config.pad_token_id = 39;
  config.decoder_start_token_id = 39;
  config.validate();
  return config;
}

MarianConfig opus_mt_en_fr_shapes() {
  MarianConfig config = small_generation_config();
  config.vocab_size = 59514;
  config.d_model = 512;
  config.encoder_layers = 6;
  config.decoder_layers = 6;
  config.encoder_attention_heads = 8;
  config.decoder_attention_heads = 8;
  config.encoder_ffn_dim = 2048;
  config.decoder_ffn_dim = 2048;
  config.pad_token_id = 59513;
  config.decoder_start_token_id = 59513;
  config.validate();
  return config;
}

// Sources of random tokens (not eos or pad) of the given lengths, each ending with eos like a
// tokenizer's output, right-padded.
struct Inputs {
  at::Tensor input_ids, attention_mask;
};
Inputs make_inputs(const MarianConfig& config, const std::vector<int64_t>& lengths,
                   at::Generator& generator) {
  const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
  const int64_t batch_size = static_cast<int64_t>(lengths.size());
  Inputs inputs;
  inputs.input_ids = at::randint(kEos + 1, config.pad_token_id, {batch_size, longest}, generator, at::kLong);
  inputs.attention_mask = at::zeros({batch_size, longest}, at::kLong);
  for (int64_t row = 0; row < batch_size; ++row) {
    inputs.input_ids[row][lengths[row] - 1] = kEos;
    inputs.input_ids[row].narrow(0, lengths[row], longest - lengths[row]).fill_(config.pad_token_id);
    inputs.attention_mask[row].narrow(0, 0, lengths[row]).fill_(1);
  }
  return inputs;
}
Inputs make_inputs(const MarianConfig& config, const std::vector<int64_t>& lengths, uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  return make_inputs(config, lengths, generator);
}

// A random model's outputs repeat one token and rarely end, so the small model is trained for a few
// hundred steps to copy its source: its outputs then end with eos at input-dependent lengths and beam
// search weighs close alternatives, as with a translation model.
void train_to_copy(MarianMTModelImpl& model, int steps) {
  const MarianConfig& config = model.config();
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(3e-3));
  at::Generator generator = at::detail::createCPUGenerator(17);
  model.train();
  for (int step = 0; step < steps; ++step) {
    std::vector<int64_t> lengths;
    for (int row = 0; row < 32; ++row)
      lengths.push_back(at::randint(2, 13, {1}, generator, at::kLong).item<int64_t>());
    const Inputs batch = make_inputs(config, lengths, generator);
    const at::Tensor labels = batch.input_ids.masked_fill(batch.attention_mask.eq(0), -100);
    const at::Tensor logits =
        model.forward(batch.input_ids, batch.attention_mask,
                      shift_tokens_right(labels, config.pad_token_id, config.decoder_start_token_id));
    const TokenLoss loss = token_cross_entropy(logits, labels);
    optimizer.zero_grad();
    (loss.sum / loss.token_count).backward();
    optimizer.step();
  }
  model.eval();
}

// Random weights (and, for the small model, the copy training above); saved where both sides load it.
void save_model(const MarianConfig& config, int training_steps, double eos_bias, const fs::path& folder) {
  at::Generator generator = at::detail::createCPUGenerator(99);
  MarianMTModel model(config, /*seed=*/5);
  {
    at::NoGradGuard no_grad;
    for (auto& parameter : model->parameters())
      parameter.add_(at::randn(parameter.sizes(), generator, at::kFloat) * 0.1);
    at::Tensor bias = model->final_logits_bias();
    bias.copy_(at::randn(bias.sizes(), generator, at::kFloat) * 0.5);
    bias[0][kEos] += eos_bias;
  }
  if (training_steps > 0) train_to_copy(*model, training_steps);
  save_marian_mt_model(*model, folder);
}

// Marian's generation settings (opus-mt's generation_config.json) plus `overrides`.
json marian_generation(const MarianConfig& config, const json& overrides) {
  json settings = {{"decoder_start_token_id", config.decoder_start_token_id},
                   {"pad_token_id", config.pad_token_id},
                   {"eos_token_id", kEos},
                   {"forced_eos_token_id", kEos},
                   {"bad_words_ids", json::array({json::array({config.pad_token_id})})}};
  settings.update(overrides);
  for (auto it = settings.begin(); it != settings.end();)
    it = it->is_null() ? settings.erase(it) : std::next(it);
  return settings;
}

struct GenerateCase {
  std::string name;
  int model;  // index into the models
  json generation;
  std::vector<int64_t> source_lengths;
};

TEST(MarianGenerate, MatchesTransformersTokenForToken) {
  DTRAIN_REQUIRE_PYTHON("transformers");
  testing::ScratchDir scratch("marian-generate");
  const std::vector<MarianConfig> configs = {small_generation_config(), opus_mt_en_fr_shapes()};
  save_model(configs[0], /*training_steps=*/300, /*eos_bias=*/0.0, scratch / "small");
  save_model(configs[1], /*training_steps=*/0, /*eos_bias=*/7.0, scratch / "opus");
  const std::vector<fs::path> model_dirs = {scratch / "small", scratch / "opus"};
  const auto generation = [&](int model, const json& overrides) {
    return marian_generation(configs[model], overrides);
  };
  const std::vector<int64_t> mixed = {3, 23, 1, 9, 14};
  const std::vector<GenerateCase> cases = {
      // Greedy
      {"greedy_defaults", 0, generation(0, json::object()), mixed},
      {"greedy_lengths_ngrams_bad_words", 0,
       generation(0, {{"max_new_tokens", 30},
                      {"min_length", 8},
                      {"no_repeat_ngram_size", 2},
                      {"bad_words_ids", {{39}, {5, 7}, {11, 12, 13}}}}),
       mixed},
      {"greedy_without_eos", 0, generation(0, {{"eos_token_id", nullptr}, {"max_length", 12}}), {4, 2}},
      {"greedy_forced_bos_renormalized", 0,
       generation(0, {{"forced_bos_token_id", 7}, {"renormalize_logits", true}, {"max_length", 25}}), mixed},
      // Beam search
      {"beam2", 0, generation(0, {{"num_beams", 2}}), mixed},
      {"beam3_penalty0.6_early_return2", 0,
       generation(0, {{"num_beams", 3},
                      {"length_penalty", 0.6},
                      {"early_stopping", true},
                      {"num_return_sequences", 2}}),
       mixed},
      {"beam4_penalty2_never_renormalized_ngrams", 0,
       generation(0, {{"num_beams", 4},
                      {"length_penalty", 2.0},
                      {"early_stopping", "never"},
                      {"renormalize_logits", true},
                      {"no_repeat_ngram_size", 3},
                      {"bad_words_ids", {{39}, {4, 4}}},
                      {"max_length", 40}}),
       mixed},
      {"beam5_negative_penalty_min_length_return5", 0,
       generation(0, {{"num_beams", 5},
                      {"length_penalty", -0.5},
                      {"min_length", 6},
                      {"num_return_sequences", 5},
                      {"max_new_tokens", 15}}),
       mixed},
      {"beam4_opus_defaults", 0,
       generation(0, {{"num_beams", 4}, {"max_length", 512}, {"renormalize_logits", true}}), mixed},
      {"beam3_two_eos_ids", 0,
       generation(
           0, {{"num_beams", 3}, {"eos_token_id", {0, 3}}, {"forced_eos_token_id", {3}}, {"max_length", 30}}),
       mixed},
      {"beam4_single_input", 0, generation(0, {{"num_beams", 4}, {"length_penalty", 1.3}}), {6}},
      // opus-mt-en-fr's shapes. A random model of that size repeats one token and would run to
      // max_length, so these stop after a few tokens (forced eos included).
      {"opus_greedy", 1, generation(1, {{"max_new_tokens", 16}}), {5, 17, 2}},
      {"opus_beam4_defaults",
       1,
       generation(1, {{"num_beams", 4}, {"max_new_tokens", 16}, {"renormalize_logits", true}}),
       {5, 17, 2}},
      {"opus_beam2_penalty0.6",
       1,
       generation(1, {{"num_beams", 2}, {"length_penalty", 0.6}, {"max_new_tokens", 12}}),
       {12, 3}},
      {"opus_beam5_never_return2",
       1,
       generation(1, {{"num_beams", 5},
                      {"length_penalty", 1.5},
                      {"early_stopping", "never"},
                      {"num_return_sequences", 2},
                      {"max_new_tokens", 10}}),
       {4, 9}},
  };

  json plan = json::array();
  std::vector<Inputs> inputs;
  for (size_t index = 0; index < cases.size(); ++index) {
    const GenerateCase& c = cases[index];
    const fs::path folder = scratch / c.name;
    inputs.push_back(make_inputs(configs[c.model], c.source_lengths, 500 + index));
    testing::TensorFolder tensors(folder);
    tensors.add("input_ids", inputs.back().input_ids);
    tensors.add("attention_mask", inputs.back().attention_mask);
    tensors.write_manifest();
    // dtrain writes the case's generation_config.json; transformers reads it.
    GenerationConfig::from_json(c.generation).write(folder);
    plan.push_back({{"kind", "generate"}, {"dir", folder.string()}, {"model", model_dirs[c.model].string()}});
  }
  testing::write_file(scratch / "plan.json", plan.dump());
  const testing::CommandResult reference = testing::run_command(
      testing::python() + " " + (testing::source_dir() / "tests/model/marian_reference.py").string() + " " +
      (scratch / "plan.json").string());
  ASSERT_EQ(reference.exit_code, 0) << reference.output;

  std::vector<MarianMTModel> models;
  for (const fs::path& folder : model_dirs) models.push_back(load_marian_mt_model(folder));
  std::set<int64_t> lengths;
  for (size_t index = 0; index < cases.size(); ++index) {
    const GenerateCase& c = cases[index];
    SCOPED_TRACE(c.name);
    const fs::path folder = scratch / c.name;
    const at::Tensor sequences = generate(*models[c.model], inputs[index].input_ids,
                                          inputs[index].attention_mask, GenerationConfig::read(folder));
    const std::vector<int64_t> shape = testing::read_json(folder / "sequences.json").at("shape");
    ASSERT_EQ(sequences.sizes().vec(), shape);
    const at::Tensor expected = testing::read_tensor(folder / "sequences.bin", shape, at::kLong);
    EXPECT_TRUE(at::equal(sequences, expected)) << "dtrain:\n"
                                                << sequences << "\ntransformers:\n"
                                                << expected;
    // Rows end at different lengths (eos), so padding and finished hypotheses are exercised.
    for (int64_t row = 0; row < expected.size(0); ++row)
      lengths.insert(expected[row].ne(configs[c.model].pad_token_id).sum().item<int64_t>());
  }
  EXPECT_GE(lengths.size(), 8u);
}

TEST(MarianGenerate, RejectsSettingsItDoesNotImplement) {
  MarianMTModel model(small_generation_config());
  const Inputs inputs = make_inputs(small_generation_config(), {3, 2}, 1);
  const auto run = [&](const json& overrides) {
    generate(*model, inputs.input_ids, inputs.attention_mask,
             GenerationConfig::from_json(marian_generation(small_generation_config(), overrides)));
  };
  EXPECT_DTRAIN_ERROR(run({{"do_sample", true}, {"top_k", 5}}), "do_sample", "does not implement");
  EXPECT_DTRAIN_ERROR(run({{"repetition_penalty", 1.2}, {"suppress_tokens", {1}}}), "repetition_penalty",
                      "suppress_tokens");
  EXPECT_DTRAIN_ERROR(run({{"num_beams", 2}, {"num_return_sequences", 3}}), "num_return_sequences (3)",
                      "num_beams (2)");
  EXPECT_DTRAIN_ERROR(run({{"num_return_sequences", 2}}), "greedy search");
  EXPECT_DTRAIN_ERROR(run({{"max_length", 1}}), "max_length is 1");
  EXPECT_DTRAIN_ERROR(run({{"bad_words_ids", {{500}}}}), "bad_words_ids entry 500", "vocab_size 40");
  EXPECT_DTRAIN_ERROR(run({{"decoder_start_token_id", nullptr}}), "decoder_start_token_id");
  EXPECT_DTRAIN_ERROR(run({{"max_new_tokens", 0}}), "max_new_tokens must be greater than 0");
  // Settings that only matter when sampling are ignored, as in transformers.
  EXPECT_NO_THROW(run({{"temperature", 0.7}, {"top_p", 0.9}, {"max_length", 4}}));
}

TEST(MarianGenerate, GenerationPastThePositionTableIsAnError) {
  MarianConfig config = small_generation_config();
  config.max_position_embeddings = 6;
  MarianMTModel model(config);
  const Inputs inputs = make_inputs(config, {3}, 1);
  // No eos: generation runs to max_length, beyond the 6 positions the decoder can embed.
  const GenerationConfig settings =
      GenerationConfig::from_json({{"decoder_start_token_id", 39}, {"max_length", 10}, {"pad_token_id", 39}});
  EXPECT_DTRAIN_ERROR(generate(*model, inputs.input_ids, inputs.attention_mask, settings),
                      "max_position_embeddings (6)");
}

}  // namespace
}  // namespace dtrain::model
