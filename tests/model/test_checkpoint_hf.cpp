// Hugging Face model folders: dtrain's own round trip, folders written by an independent Python
// writer in every supported variant, transformers-compatibility of what dtrain saves, and errors.
#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <set>

#include "model/checkpoint_test_support.h"
#include "model/hf/hf_checkpoint.h"
#include "model/hf/safetensors.h"

namespace dtrain::model {
namespace {
namespace fs = std::filesystem;
using dtrain::testing::run_safetensors_tool;
using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

BertConfig tiny_config() {
  BertConfig config;
  config.vocab_size = 50;
  config.hidden_size = 16;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 2;
  config.intermediate_size = 24;
  config.max_position_embeddings = 32;
  config.set_labels({"negative", "neutral", "positive"});
  config.validate();
  return config;
}

bool bit_identical(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(), a.numel() * a.element_size()) == 0;
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(HfCheckpoint, SaveThenLoadIsBitIdentical) {
  ScratchDir dir;
  BertForSequenceClassification model(tiny_config(), /*seed=*/11);
  save_hf_checkpoint(*model, dir / "out");

  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir / "out")) files.insert(entry.path().filename());
  EXPECT_EQ(files, (std::set<std::string>{"config.json", "model.safetensors"}));

  BertForSequenceClassification loaded = load_bert_for_sequence_classification(dir / "out");
  auto expected = model->named_parameters();
  auto actual = loaded->named_parameters();
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& item : expected) {
    ASSERT_TRUE(actual.contains(item.key())) << item.key();
    EXPECT_TRUE(bit_identical(actual[item.key()], item.value())) << item.key();
  }
  BertConfig saved_config = model->config();
  saved_config.architectures = {"BertForSequenceClassification"};
  saved_config.torch_dtype = "float32";
  EXPECT_EQ(loaded->config().to_json(), saved_config.to_json());
  EXPECT_EQ(loaded->config().id2label.at(2), "positive");
}

TEST(HfCheckpoint, SavedFolderIsWhatTransformersExpects) {
  ScratchDir dir;
  BertForSequenceClassification model(tiny_config(), /*seed=*/5);
  save_hf_checkpoint(*model, dir.path());
  // Python reads the header and data with numpy and checks names, shapes and config fields.
  run_safetensors_tool("check-bert " + dir.path().string());
  const auto config = read_json(dir / "config.json");
  EXPECT_EQ(config.at("id2label").at("1"), "neutral");
  EXPECT_EQ(config.at("label2id").at("positive"), 2);
}

const std::set<std::string> kClassifier = {"classifier.weight", "classifier.bias"};

// Loads a folder safetensors_tool.py writes for `variant`/`dtype`: every parameter must hold exactly
// the values Python stored (after its own F16/BF16 rounding) under dtrain's parameter names, and
// exactly `newly_initialized` may be absent.
void expect_loads_stored_values(const std::string& variant, const std::string& dtype,
                                const std::set<std::string>& newly_initialized, size_t unused) {
  ScratchDir dir;
  run_safetensors_tool("bert " + dir.path().string() + " --variant " + variant + " --dtype " + dtype);
  BertForSequenceClassification model(read_hf_config(dir.path()));
  const WeightLoadReport report = load_hf_weights(*model, kBertForSequenceClassification, dir.path());

  EXPECT_EQ(std::set<std::string>(report.newly_initialized.begin(), report.newly_initialized.end()),
            newly_initialized);
  EXPECT_EQ(report.unused.size(), unused);
  SafetensorsFile expected(dir / "expected/model.safetensors");
  size_t compared = 0;
  for (const auto& item : model->named_parameters()) {
    const TensorView* view = expected.find(item.key());
    if (!view) {
      EXPECT_TRUE(newly_initialized.count(item.key())) << item.key() << " neither loaded nor reported";
      continue;
    }
    EXPECT_TRUE(bit_identical(item.value(), to_tensor(*view, at::kFloat))) << item.key();
    ++compared;
  }
  EXPECT_EQ(compared, expected.tensors().size());
}

TEST(PythonWrittenCheckpoint, Float32) {
  expect_loads_stored_values("plain", "F32", {}, 0);
}
TEST(PythonWrittenCheckpoint, Float16) {
  expect_loads_stored_values("plain", "F16", {}, 0);
}
TEST(PythonWrittenCheckpoint, BFloat16) {
  expect_loads_stored_values("plain", "BF16", {}, 0);
}
TEST(PythonWrittenCheckpoint, ShardedIndex) {
  expect_loads_stored_values("sharded", "F32", {}, 0);
}
TEST(PythonWrittenCheckpoint, LegacyGammaBetaNames) {
  expect_loads_stored_values("legacy", "F32", {}, 0);
}
TEST(PythonWrittenCheckpoint, BareBertModelGetsNewClassifier) {
  expect_loads_stored_values("bare", "F16", kClassifier, 0);
}
TEST(PythonWrittenCheckpoint, PretrainingHeadsAreSkipped) {
  // 8 cls.* pretraining-head tensors (the position_ids buffer is ignored without a report)
  expect_loads_stored_values("pretraining", "BF16", kClassifier, 8);
}

class BadCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override { run_safetensors_tool("bert " + dir_.path().string()); }
  void edit_config(const std::function<void(nlohmann::json&)>& edit) {
    auto config = read_json(dir_ / "config.json");
    edit(config);
    write_file(dir_ / "config.json", config.dump());
  }
  ScratchDir dir_;
};

TEST_F(BadCheckpoint, MissingConfigField) {
  edit_config([](nlohmann::json& config) { config.erase("hidden_size"); });
  EXPECT_DTRAIN_ERROR(load_bert_for_sequence_classification(dir_.path()), "config.json",
                      "missing required field 'hidden_size'");
}

TEST_F(BadCheckpoint, MissingConfigFile) {
  fs::remove(dir_ / "config.json");
  EXPECT_DTRAIN_ERROR(load_bert_for_sequence_classification(dir_.path()), "config.json",
                      "a model folder needs config.json");
}

TEST_F(BadCheckpoint, ShapeMismatchNamesTensorAndBothShapes) {
  edit_config([](nlohmann::json& config) { config["intermediate_size"] = 40; });
  EXPECT_DTRAIN_ERROR(load_bert_for_sequence_classification(dir_.path()), "model.safetensors",
                      "tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape [37, 32]",
                      "expects [40, 32]");
}

TEST_F(BadCheckpoint, MissingBodyTensorIsAnError) {
  SafetensorsFile original(dir_ / "model.safetensors");
  std::vector<NamedTensor> kept;
  for (const auto& view : original.tensors())
    if (view.name != "bert.encoder.layer.1.output.dense.bias")
      kept.push_back({view.name, to_tensor(view, at::kFloat)});
  write_safetensors(dir_ / "model.safetensors", kept);
  EXPECT_DTRAIN_ERROR(
      load_bert_for_sequence_classification(dir_.path()),
      "lacks 1 tensor(s) BertForSequenceClassification needs: bert.encoder.layer.1.output.dense.bias");
}

TEST_F(BadCheckpoint, NoWeightsFile) {
  // A .bin is read as a PyTorch checkpoint, whatever it holds.
  fs::rename(dir_ / "model.safetensors", dir_ / "pytorch_model.bin");
  EXPECT_DTRAIN_ERROR(load_bert_for_sequence_classification(dir_.path()), "pytorch_model.bin",
                      "not a PyTorch checkpoint");
  fs::remove(dir_ / "pytorch_model.bin");
  EXPECT_DTRAIN_ERROR(load_bert_for_sequence_classification(dir_.path()), "holds no model weights",
                      "model.safetensors, model.safetensors.index.json, pytorch_model.bin");
}

}  // namespace
}  // namespace dtrain::model
