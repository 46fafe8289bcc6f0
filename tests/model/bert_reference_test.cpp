// dtrain's BERT against tests/model/reference_bert.py, an independent model built from PyTorch's own
// nn.TransformerEncoderLayer and loaded from the same Hugging Face-named weights.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/activation.h"
#include "model/bert/bert_model.h"
#include "support/test_support.h"

namespace dtrain::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

enum class LabelKind { kNone, kClassIds, kRegression, kMultiLabel };

struct ReferenceCase {
  std::string name;
  BertConfig config;
  int64_t batch_size;
  int64_t seq_length;
  LabelKind labels;
};

BertConfig small_config(int64_t layers, int64_t hidden, int64_t heads, int64_t intermediate,
                        const std::string& activation, int64_t num_labels) {
  BertConfig config;
  config.vocab_size = 50;
  config.hidden_size = hidden;
  config.num_hidden_layers = layers;
  config.num_attention_heads = heads;
  config.intermediate_size = intermediate;
  config.hidden_act = activation;
  config.max_position_embeddings = 40;
  config.layer_norm_eps = 1e-5;  // a value where a wrong eps would show in the logits
  config.set_num_labels(num_labels);
  config.validate();
  return config;
}

void write_tensor(const fs::path& dir, const std::string& name, const at::Tensor& tensor, json& manifest) {
  const at::Tensor data = tensor.contiguous();
  std::ofstream out(dir / (name + ".bin"), std::ios::binary);
  out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
  manifest[name] = {{"dtype", data.scalar_type() == at::kLong ? "<i8" : "<f4"},
                    {"shape", data.sizes().vec()}};
}

at::Tensor read_floats(const fs::path& path, at::IntArrayRef shape) {
  at::Tensor tensor = at::empty(shape, at::kFloat);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(tensor.nbytes()));
  EXPECT_TRUE(in.good()) << "short read from " << path;
  return tensor;
}

// Random ids with each sample padded after a random length (at least 2 real tokens: [CLS] + one),
// token types 0 then 1 inside the real tokens, as for a sentence pair.
struct Batch {
  at::Tensor input_ids, attention_mask, token_type_ids;
};
Batch random_batch(const BertConfig& config, int64_t batch_size, int64_t seq_length,
                   at::Generator& generator) {
  Batch batch;
  batch.input_ids = at::randint(1, config.vocab_size, {batch_size, seq_length}, generator, at::kLong);
  batch.attention_mask = at::zeros({batch_size, seq_length}, at::kLong);
  batch.token_type_ids = at::zeros({batch_size, seq_length}, at::kLong);
  for (int64_t row = 0; row < batch_size; ++row) {
    // The first sample is unpadded; the others keep between 2 and seq_length tokens.
    const int64_t length =
        row == 0 ? seq_length : at::randint(2, seq_length + 1, {1}, generator, at::kLong).item<int64_t>();
    batch.attention_mask[row].narrow(0, 0, length).fill_(1);
    batch.token_type_ids[row].narrow(0, length / 2, length - length / 2).fill_(1);
    batch.input_ids[row].narrow(0, length, seq_length - length).fill_(config.pad_token_id);
  }
  // An attended pad id: HF's padding_idx keeps its embedding row out of the gradient even then.
  batch.input_ids[0][1] = config.pad_token_id;
  return batch;
}

at::Tensor random_labels(const ReferenceCase& c, at::Generator& generator) {
  switch (c.labels) {
    case LabelKind::kNone:
      return {};
    case LabelKind::kClassIds:
      return at::randint(0, c.config.num_labels, {c.batch_size}, generator, at::kLong);
    case LabelKind::kRegression:
      return at::randn({c.batch_size}, generator, at::kFloat);
    case LabelKind::kMultiLabel:
      return at::randint(0, 2, {c.batch_size, c.config.num_labels}, generator, at::kLong).to(at::kFloat);
  }
  return {};
}

struct CaseResult {
  at::Tensor logits;
  std::optional<double> loss;
  std::map<std::string, at::Tensor> gradients;  // by parameter name, when labels were given
};

// Builds the model, moves every parameter off HF's init (non-zero biases, LayerNorm weights != 1) so
// that a mis-wired bias or norm cannot hide, runs it (and, with labels, its backward) in eval mode and
// writes everything the reference needs into `dir`.
CaseResult run_and_export(const ReferenceCase& c, const fs::path& dir) {
  fs::create_directories(dir);
  at::Generator generator = at::detail::createCPUGenerator(1234);
  BertForSequenceClassification model(c.config, /*seed=*/7);
  model->eval();
  json manifest = json::object();
  {
    at::NoGradGuard no_grad;
    for (auto& parameter : model->named_parameters()) {
      parameter.value().add_(at::randn(parameter.value().sizes(), generator, at::kFloat) * 0.1);
      write_tensor(dir, parameter.key(), parameter.value(), manifest);
    }
  }
  const Batch batch = random_batch(c.config, c.batch_size, c.seq_length, generator);
  const at::Tensor labels = random_labels(c, generator);
  write_tensor(dir, "input_ids", batch.input_ids, manifest);
  write_tensor(dir, "attention_mask", batch.attention_mask, manifest);
  write_tensor(dir, "token_type_ids", batch.token_type_ids, manifest);
  if (labels.defined()) write_tensor(dir, "labels", labels, manifest);
  testing::write_file(dir / "manifest.json", manifest.dump());
  testing::write_file(dir / "config.json", c.config.to_json().dump(2));

  const SequenceClassifierOutput output =
      model->forward(batch.input_ids, batch.attention_mask, batch.token_type_ids, labels);
  CaseResult result{output.logits.detach()};
  if (output.loss) {
    result.loss = output.loss->item<double>();
    output.loss->backward();
    for (const auto& parameter : model->named_parameters()) {
      result.gradients[parameter.key()] = parameter.value().grad();
    }
  }
  return result;
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  std::istringstream list(supported_activation_names());
  for (std::string name; std::getline(list >> std::ws, name, ',');) names.push_back(name);
  return names;
}

std::vector<ReferenceCase> reference_cases() {
  std::vector<ReferenceCase> cases = {
      {"2x128_2heads_cross_entropy", small_config(2, 128, 2, 512, "gelu", 3), 3, 17, LabelKind::kClassIds},
      {"3x96_4heads_mse", small_config(3, 96, 4, 192, "gelu", 1), 4, 23, LabelKind::kRegression},
      {"1x64_8heads_multi_label", small_config(1, 64, 8, 128, "gelu", 4), 2, 9, LabelKind::kMultiLabel},
  };
  // Every hidden_act dtrain accepts, on a one-layer model.
  for (const std::string& activation : activation_names()) {
    cases.push_back(
        {"act_" + activation, small_config(1, 32, 2, 64, activation, 2), 2, 11, LabelKind::kNone});
  }
  return cases;
}

TEST(BertReference, LogitsAndLossMatchTransformerEncoderReference) {
  DTRAIN_REQUIRE_PYTHON("torch");
  const std::string python = testing::python();
  testing::ScratchDir scratch("bert-reference");
  const std::vector<ReferenceCase> cases = reference_cases();
  std::vector<CaseResult> results;
  std::string command =
      fmt::format("{} {}", python, (testing::source_dir() / "tests/model/reference_bert.py").string());
  for (const ReferenceCase& c : cases) {
    results.push_back(run_and_export(c, scratch / c.name));
    command += " " + (scratch / c.name).string();
  }
  const testing::CommandResult reference = testing::run_command(command);
  ASSERT_EQ(reference.exit_code, 0) << reference.output;

  for (size_t index = 0; index < cases.size(); ++index) {
    const ReferenceCase& c = cases[index];
    SCOPED_TRACE(c.name);
    const at::Tensor expected = read_floats(scratch / c.name / "logits.bin", results[index].logits.sizes());
    EXPECT_LE((results[index].logits - expected).abs().max().item<double>(), 1e-5);
    // Guards against a vacuous pass: logits must vary across samples and classes.
    EXPECT_GT(expected.std().item<double>(), 1e-3);
    if (c.labels != LabelKind::kNone) {
      ASSERT_TRUE(results[index].loss.has_value());
      std::ifstream loss_file(scratch / c.name / "loss.json");
      const double expected_loss = json::parse(loss_file).at("loss").get<double>();
      EXPECT_NEAR(*results[index].loss, expected_loss, 1e-5 * std::max(1.0, std::abs(expected_loss)));
      // Backward too: each parameter's gradient, relative to that gradient's largest entry. The floor
      // covers attention.self.key.bias, whose exact gradient is zero (softmax ignores a per-row shift).
      for (const auto& [name, gradient] : results[index].gradients) {
        SCOPED_TRACE(name);
        const at::Tensor expected_gradient =
            read_floats(scratch / c.name / ("grad." + name + ".bin"), gradient.sizes());
        const double scale = std::max(expected_gradient.abs().max().item<double>(), 1e-2);
        EXPECT_LE((gradient - expected_gradient).abs().max().item<double>(), 1e-5 * scale);
      }
    }
  }
}

}  // namespace
}  // namespace dtrain::model
