// MarianConfig and GenerationConfig files, Marian folders (round trip, errors), the position table,
// incremental decoding against the full decoder pass, and the packed token loss against the padded one.
#include "model/marian/marian_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "model/generation/generation_config.h"
#include "model/hf/safetensors.h"
#include "model/marian/marian_checkpoint.h"
#include "model/tensor_files.h"
#include "model/token_loss.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ScratchDir;
using testing::write_file;

// Helsinki-NLP/opus-mt-en-fr's config.json as published (transformers 4 era), shapes shrunk.
json opus_style_config() {
  return json::parse(R"({
    "_name_or_path": "Helsinki-NLP/opus-mt-en-fr", "activation_dropout": 0.0, "activation_function": "swish",
    "add_bias_logits": false, "add_final_layer_norm": false, "architectures": ["MarianMTModel"],
    "attention_dropout": 0.0, "bad_words_ids": [[29]], "bos_token_id": 0, "classif_dropout": 0.0,
    "classifier_dropout": 0.0, "d_model": 16, "decoder_attention_heads": 2, "decoder_ffn_dim": 32,
    "decoder_layerdrop": 0.0, "decoder_layers": 2, "decoder_start_token_id": 29, "decoder_vocab_size": 30,
    "dropout": 0.1, "encoder_attention_heads": 4, "encoder_ffn_dim": 24, "encoder_layerdrop": 0.0,
    "encoder_layers": 1, "eos_token_id": 0, "extra_pos_embeddings": 30, "forced_eos_token_id": 0,
    "id2label": {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}, "init_std": 0.02, "is_encoder_decoder": true,
    "label2id": {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}, "max_length": 512, "max_position_embeddings": 24,
    "model_type": "marian", "normalize_before": false, "normalize_embedding": false, "num_beams": 4,
    "num_hidden_layers": 1, "pad_token_id": 29, "scale_embedding": true, "share_encoder_decoder_embeddings": true,
    "static_position_embeddings": true, "torch_dtype": "float32", "transformers_version": "4.22.0.dev0",
    "use_cache": true, "vocab_size": 30})");
}

MarianConfig tiny_config() {
  return MarianConfig::from_json(opus_style_config());
}

TEST(MarianConfig, ReadsOpusMtConfigsAndKeepsWhatItDoesNotInterpret) {
  const MarianConfig config = tiny_config();
  EXPECT_EQ(config.d_model, 16);
  EXPECT_EQ(config.encoder_attention_heads, 4);
  EXPECT_EQ(config.decoder_attention_heads, 2);
  EXPECT_EQ(config.activation_function, "swish");
  EXPECT_TRUE(config.scale_embedding);
  EXPECT_EQ(config.target_vocab_size(), 30);
  EXPECT_EQ(config.dtype, "float32");
  // Legacy and generation fields stay as written.
  EXPECT_EQ(config.extra.at("num_beams"), 4);
  EXPECT_EQ(config.extra.at("static_position_embeddings"), true);
  const json written = config.to_json();
  EXPECT_EQ(written.at("bad_words_ids"), json::parse("[[29]]"));
  EXPECT_EQ(written.at("dtype"), "float32");
  EXPECT_FALSE(written.contains("torch_dtype"));
  EXPECT_EQ(MarianConfig::from_json(written).to_json(), written);
}

TEST(MarianConfig, DefaultsAreTransformers) {
  json minimal = {{"model_type", "marian"},       {"vocab_size", 58101},  {"d_model", 8},
                  {"encoder_layers", 1},          {"decoder_layers", 1},  {"encoder_attention_heads", 2},
                  {"decoder_attention_heads", 2}, {"encoder_ffn_dim", 8}, {"decoder_ffn_dim", 8}};
  const MarianConfig config = MarianConfig::from_json(minimal);
  EXPECT_EQ(config.pad_token_id, 58100);
  EXPECT_EQ(config.decoder_start_token_id, 58100);
  EXPECT_EQ(config.eos_token_id, 0);
  EXPECT_EQ(config.forced_eos_token_id, 0);
  EXPECT_TRUE(config.bos_token_id.is_null());
  EXPECT_EQ(config.max_position_embeddings, 1024);
  EXPECT_EQ(config.activation_function, "gelu");
  EXPECT_FALSE(config.scale_embedding);
  EXPECT_TRUE(config.share_encoder_decoder_embeddings);
  EXPECT_TRUE(config.tie_word_embeddings);
  minimal["eos_token_id"] = nullptr;
  EXPECT_TRUE(MarianConfig::from_json(minimal).eos_token_id.is_null());
}

TEST(MarianConfig, ErrorsNameTheFieldAndTheProblem) {
  const auto with = [](const char* field, const json& value) {
    json config = opus_style_config();
    if (value.is_null())
      config.erase(field);
    else
      config[field] = value;
    return config;
  };
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("d_model", nullptr), "m/config.json"),
                      "m/config.json: missing required field 'd_model'");
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("model_type", "bert")), "model_type 'bert'", "Marian");
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("d_model", "16")), "field 'd_model' must be an integer");
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("encoder_attention_heads", 3)),
                      "d_model (16) is not a multiple of encoder_attention_heads (3)");
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("pad_token_id", 30)), "'pad_token_id' (30)",
                      "vocabulary size (30)");
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("activation_function", "swiss")),
                      "'activation_function' is 'swiss'");
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("decoder_vocab_size", 20)),
                      "decoder_vocab_size (20) differs from vocab_size (30)");
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("eos_token_id", "</s>")), "field 'eos_token_id'");
  EXPECT_DTRAIN_ERROR(MarianConfig::from_json(with("dropout", 1.5)), "'dropout' must be in [0, 1)");
}

TEST(MarianPositions, SinesThenCosinesOfTheTransformerFrequencies) {
  for (const int64_t dim : {8, 9}) {
    SCOPED_TRACE(dim);
    const at::Tensor table = marian_sinusoidal_positions(50, dim);
    const int64_t sines = (dim + 1) / 2;
    const at::Tensor positions = at::arange(50, at::kDouble).unsqueeze(1);
    const at::Tensor frequencies = at::pow(10000.0, -at::arange(0, sines, at::kDouble) * 2.0 / dim);
    const at::Tensor angles = positions * frequencies;
    EXPECT_TRUE(at::allclose(table.narrow(1, 0, sines), at::sin(angles).to(at::kFloat), 0, 1e-6));
    EXPECT_TRUE(at::allclose(table.narrow(1, sines, dim - sines),
                             at::cos(angles.narrow(1, 0, dim - sines)).to(at::kFloat), 0, 1e-6));
  }
}

bool bit_identical(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(), a.numel() * a.element_size()) == 0;
}

TEST(MarianCheckpoint, SaveThenLoadIsBitIdentical) {
  ScratchDir dir;
  MarianMTModel model(tiny_config(), /*seed=*/11);
  {
    at::NoGradGuard no_grad;
    at::Tensor bias = model->final_logits_bias();
    bias.normal_();
  }
  GenerationConfig generation = model->generation_config();
  generation.num_beams = 6;
  model->set_generation_config(generation);
  save_marian_mt_model(*model, dir / "out");
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir / "out")) files.insert(entry.path().filename());
  EXPECT_EQ(files, (std::set<std::string>{"config.json", "generation_config.json", "model.safetensors"}));
  // One tensor per tied group, no position tables, final_logits_bias included: as transformers writes.
  const SafetensorsFile weights(dir / "out/model.safetensors");
  EXPECT_NE(weights.find("model.shared.weight"), nullptr);
  EXPECT_NE(weights.find("final_logits_bias"), nullptr);
  for (const char* absent : {"lm_head.weight", "model.encoder.embed_tokens.weight",
                             "model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"})
    EXPECT_EQ(weights.find(absent), nullptr) << absent;

  MarianMTModel loaded = load_marian_mt_model(dir / "out");
  const auto expected = model->named_parameters();
  const auto actual = loaded->named_parameters();
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& item : expected)
    EXPECT_TRUE(bit_identical(actual[item.key()], item.value())) << item.key();
  EXPECT_TRUE(bit_identical(loaded->final_logits_bias(), model->final_logits_bias()));
  EXPECT_EQ(loaded->generation_config().num_beams, 6);
  EXPECT_EQ(loaded->config().extra, model->config().extra);
}

TEST(MarianCheckpoint, BadFoldersGiveOneClearError) {
  ScratchDir dir;
  MarianMTModel model(tiny_config(), /*seed=*/1);
  save_marian_mt_model(*model, dir / "good");
  EXPECT_DTRAIN_ERROR(load_marian_mt_model(dir / "absent"), "model folder", "does not exist");

  fs::copy(dir / "good", dir / "no_config");
  fs::remove(dir / "no_config/config.json");
  EXPECT_DTRAIN_ERROR(load_marian_mt_model(dir / "no_config"), "no_config/config.json", "needs config.json");

  fs::copy(dir / "good", dir / "no_weights");
  fs::remove(dir / "no_weights/model.safetensors");
  EXPECT_DTRAIN_ERROR(load_marian_mt_model(dir / "no_weights"),
                      "holds no model weights: none of model.safetensors");

  // Weights of another shape: config.json says d_model 32.
  fs::copy(dir / "good", dir / "other_shape");
  json config = opus_style_config();
  config["d_model"] = 32;
  write_file(dir / "other_shape/config.json", config.dump());
  EXPECT_DTRAIN_ERROR(load_marian_mt_model(dir / "other_shape"),
                      "model.safetensors: tensor 'model.shared.weight'", "has shape [30, 16]",
                      "MarianMTModel expects [30, 32]");

  // A tensor missing from the weights.
  fs::create_directories(dir / "missing_tensor");
  fs::copy(dir / "good/config.json", dir / "missing_tensor/config.json");
  std::vector<NamedTensor> tensors;
  for (const auto& item : model->named_parameters())
    if (item.key() != "model.decoder.layers.1.fc2.weight") tensors.push_back({item.key(), item.value()});
  write_safetensors(dir / "missing_tensor/model.safetensors", tensors);
  EXPECT_DTRAIN_ERROR(load_marian_mt_model(dir / "missing_tensor"), "lacks 1 tensor(s) MarianMTModel needs",
                      "model.decoder.layers.1.fc2.weight");

  fs::copy(dir / "good", dir / "bad_generation");
  write_file(dir / "bad_generation/generation_config.json", R"({"num_beams": "four"})");
  EXPECT_DTRAIN_ERROR(load_marian_mt_model(dir / "bad_generation"),
                      "generation_config.json: field 'num_beams'", "must be an integer");
  write_file(dir / "bad_generation/generation_config.json", R"({"early_stopping": "sometimes"})");
  EXPECT_DTRAIN_ERROR(load_marian_mt_model(dir / "bad_generation"), "field 'early_stopping'",
                      "true, false or \"never\"");
  write_file(dir / "bad_generation/generation_config.json", "{\"num_beams\": 4");
  EXPECT_DTRAIN_ERROR(load_marian_mt_model(dir / "bad_generation"), "generation_config.json: not valid JSON");
}

TEST(GenerationConfig, RoundTripsWhatItReadsAndKeepsUnknownFields) {
  const json file = json::parse(R"({
    "bad_words_ids": [[59513], [5, 6]], "bos_token_id": 0, "decoder_start_token_id": 59513,
    "early_stopping": "never", "eos_token_id": [0, 3], "forced_eos_token_id": 0, "length_penalty": 0.6,
    "max_length": 512, "min_new_tokens": 2, "num_beams": 4, "pad_token_id": 59513, "renormalize_logits": true,
    "temperature": 0.7, "transformers_version": "4.32.0.dev0", "_from_model_config": true})");
  const GenerationConfig config = GenerationConfig::from_json(file);
  EXPECT_EQ(config.early_stopping, EarlyStopping::kNever);
  EXPECT_EQ(config.eos_token_id->ids, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(config.forced_eos_token_id->ids, std::vector<int64_t>{0});
  EXPECT_EQ(config.extra, json({{"temperature", 0.7}}));
  json expected = file;
  expected.erase("transformers_version");
  expected.erase("_from_model_config");
  EXPECT_EQ(config.to_json(), expected);
  EXPECT_TRUE(config.unsupported_settings().empty());
}

TEST(GenerationConfig, FromAModelConfigTakesOnlyGenerationFields) {
  const GenerationConfig config = GenerationConfig::from_model_config(opus_style_config());
  EXPECT_EQ(config.num_beams, 4);
  EXPECT_EQ(config.max_length, 512);
  EXPECT_EQ(config.bad_words_ids, (std::vector<std::vector<int64_t>>{{29}}));
  EXPECT_EQ(config.decoder_start_token_id, 29);
  EXPECT_TRUE(config.extra.empty()) << config.extra.dump();

  // A folder without generation_config.json: config.json's fields, as transformers falls back to.
  ScratchDir dir;
  write_file(dir / "config.json", opus_style_config().dump());
  EXPECT_EQ(GenerationConfig::read(dir.path()).num_beams, 4);
  write_file(dir / "generation_config.json", R"({"num_beams": 6, "decoder_start_token_id": 29})");
  EXPECT_EQ(GenerationConfig::read(dir.path()).num_beams, 6);
}

TEST(GenerationConfig, ResolvesDefaultsLikeGenerate) {
  GenerationConfig config = GenerationConfig::from_json({{"decoder_start_token_id", 9}, {"eos_token_id", 0}});
  ResolvedGeneration resolved =
      resolve_generation(config, /*vocab_size=*/10, /*max_position_embeddings=*/512);
  EXPECT_EQ(resolved.max_length, 21);  // 20 new tokens after the start token
  EXPECT_EQ(resolved.num_beams, 1);
  EXPECT_EQ(resolved.early_stopping, EarlyStopping::kHeuristic);
  EXPECT_EQ(resolved.pad_token_id, 0);  // no pad id: the first eos id
  EXPECT_EQ(resolved.beam_fill_token_id, 0);
  EXPECT_EQ(resolve_generation(config, 10, 16).max_length, 16);  // capped by the position table
  config.max_new_tokens = 5;
  config.max_length = 100;
  config.min_new_tokens = 3;
  resolved = resolve_generation(config, 10, 512);
  EXPECT_EQ(resolved.max_length, 6);  // max_new_tokens wins
  EXPECT_EQ(resolved.min_length, 4);
  // A single-token bad word equal to eos is dropped, as transformers does.
  config.bad_words_ids = {{0}, {3}};
  config.pad_token_id = 7;
  resolved = resolve_generation(config, 10, 512);
  EXPECT_EQ(resolved.bad_words_ids, (std::vector<std::vector<int64_t>>{{3}}));
  EXPECT_EQ(resolved.beam_fill_token_id, 7);
  config.decoder_start_token_id.reset();
  config.bos_token_id = 2;
  EXPECT_EQ(resolve_generation(config, 10, 512).decoder_start_token_id, 2);
}

// Feeding tokens one at a time through the caches gives the logits of the full decoder pass, also after
// rows are reordered and dropped the way beam search does.
TEST(MarianDecoding, IncrementalStepsMatchTheFullPass) {
  MarianConfig config = tiny_config();
  config.decoder_layers = 3;
  config.max_position_embeddings = 48;
  MarianMTModel model(config, /*seed=*/4);
  model->eval();
  at::Generator generator = at::detail::createCPUGenerator(8);
  {
    at::NoGradGuard no_grad;
    for (auto& parameter : model->parameters()) parameter.add_(at::randn(parameter.sizes(), generator) * 0.1);
  }
  const int64_t inputs = 3, beams = 2, steps = 40;  // 40 steps: the caches grow past their first capacity
  const at::Tensor input_ids = at::randint(1, 29, {inputs, 7}, generator, at::kLong);
  at::Tensor mask = at::ones({inputs, 7}, at::kLong);
  mask[1].narrow(0, 3, 4).fill_(0);
  // Decoder rows: input i's beams; tokens random per row.
  at::Tensor tokens = at::randint(0, 30, {inputs * beams, steps}, generator, at::kLong);
  at::NoGradGuard no_grad;
  auto state = model->start_decoding(input_ids, mask, beams, /*max_length=*/steps + 1);
  // Row history: which original token row each live row follows, reordered like beams.
  at::Tensor rows = at::arange(inputs * beams, at::kLong);
  at::Tensor live_inputs = at::arange(inputs, at::kLong);
  at::Tensor history = at::empty({inputs * beams, 0}, at::kLong);
  for (int64_t step = 0; step < steps; ++step) {
    const at::Tensor fed = tokens.index_select(0, rows).select(1, step);
    history = at::cat({history, fed.unsqueeze(1)}, 1);
    const at::Tensor logits = state->step(fed);
    const at::Tensor full = model
                                ->forward(input_ids.index_select(0, live_inputs.repeat_interleave(beams)),
                                          mask.index_select(0, live_inputs.repeat_interleave(beams)), history)
                                .select(1, step);
    ASSERT_LE((logits - full).abs().max().item<double>(), 1e-4) << "step " << step;
    // Reorder within each input (swap the two beams), and drop input 1 after step 5.
    const int64_t live = live_inputs.size(0);
    at::Tensor order = (at::arange(live, at::kLong) * beams).unsqueeze(1) + at::tensor({1, 0}, at::kLong);
    order = order.flatten();
    at::Tensor kept;
    if (step == 5) {
      kept = at::tensor({0, 2}, at::kLong);
      order = at::cat({order.narrow(0, 0, beams), order.narrow(0, 2 * beams, beams)});
      live_inputs = live_inputs.index_select(0, kept);
    }
    state->select(order, kept);
    rows = rows.index_select(0, order);
    history = history.index_select(0, order);
  }
}

// token_loss runs the layers on real tokens only and projects only labelled positions; it must equal the
// loss of the full padded logits, gradients included, with a label masked inside a row (-100 before
// the row's last label, as a user's labels may have) and rows of very different lengths.
TEST(MarianTokenLoss, PackedEqualsTheLossOfThePaddedLogits) {
  MarianConfig config = tiny_config();
  config.dropout = 0.0;
  at::Generator generator = at::detail::createCPUGenerator(11);
  const at::Tensor input_ids = at::randint(1, 29, {3, 9}, generator, at::kLong);
  at::Tensor mask = at::ones({3, 9}, at::kLong);
  mask[1].narrow(0, 2, 7).fill_(0);
  mask[2].narrow(0, 6, 3).fill_(0);
  at::Tensor labels = at::randint(0, 29, {3, 8}, generator, at::kLong);
  labels[0].narrow(0, 5, 3).fill_(kIgnoreIndex);
  labels[1][2] = kIgnoreIndex;  // inside the row
  labels[2].narrow(0, 1, 7).fill_(kIgnoreIndex);
  const at::Tensor decoder_input_ids =
      shift_tokens_right(labels, config.pad_token_id, config.decoder_start_token_id);
  for (const double smoothing : {0.0, 0.1}) {
    MarianMTModel padded(config, /*seed=*/5);
    MarianMTModel packed(config, /*seed=*/5);
    const TokenLoss expected =
        token_cross_entropy(padded->forward(input_ids, mask, decoder_input_ids), labels, smoothing);
    const TokenLoss actual = packed->token_loss(input_ids, mask, decoder_input_ids, labels, smoothing);
    EXPECT_EQ(actual.token_count.item<int64_t>(), expected.token_count.item<int64_t>());
    EXPECT_NEAR(actual.sum.item<double>(), expected.sum.item<double>(), 1e-5 * expected.sum.item<double>());
    expected.sum.backward();
    actual.sum.backward();
    const auto expected_parameters = padded->named_parameters();
    for (const auto& parameter : packed->named_parameters()) {
      const at::Tensor& want = expected_parameters[parameter.key()].grad();
      ASSERT_TRUE(want.defined() && parameter.value().grad().defined()) << parameter.key();
      EXPECT_LE((parameter.value().grad() - want).abs().max().item<double>(),
                1e-5 * std::max(1.0, want.abs().max().item<double>()))
          << parameter.key() << ", label smoothing " << smoothing;
    }
  }
}

}  // namespace
}  // namespace dtrain::model
