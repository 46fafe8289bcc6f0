// PyTorch checkpoints and transformers-written folders: what torch.save writes (zip and legacy
// formats, every dtype, strided views, shared storages) reads bit-identically; Hugging Face folders
// saved by transformers and huggingface_hub (safetensors, sharded, pytorch_model.bin, sharded .bin,
// legacy .bin) give the logits transformers computes from them; a bare BertModel gets a new head,
// reported as transformers reports it; pickles that would run code are refused without running it.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "model/checkpoint_test_support.h"
#include "model/hf/hf_checkpoint.h"
#include "model/hf/model_weights.h"
#include "model/hf/pytorch_file.h"
#include "model/hf/safetensors.h"

namespace dtrain::model {
namespace {
namespace fs = std::filesystem;
using dtrain::testing::run_command;
using dtrain::testing::run_pytorch_checkpoint_tool;
using dtrain::testing::ScratchDir;
using nlohmann::json;

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

bool bit_identical(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(), a.numel() * a.element_size()) == 0;
}

// Every tensor of `expected` (written by the safetensors package) must be in `find`'s source with
// the same dtype, shape and bytes.
template <typename Find>
void expect_same_tensors(const SafetensorsFile& expected, Find find, const std::string& what) {
  for (const auto& view : expected.tensors()) {
    const TensorView* actual = find(view.name);
    ASSERT_NE(actual, nullptr) << what << ": " << view.name;
    EXPECT_EQ(actual->dtype, view.dtype) << what << ": " << view.name;
    EXPECT_EQ(actual->shape, view.shape) << what << ": " << view.name;
    const at::ScalarType dtype = scalar_type_of(view.dtype);
    EXPECT_TRUE(bit_identical(to_tensor(*actual, dtype), to_tensor(view, dtype)))
        << what << ": " << view.name;
  }
}

// Python runs once per test (importing torch and transformers takes seconds), writing every file the
// test needs.

TEST(PytorchFile, ReadsWhatTorchSaveWritesInEveryFormat) {
  DTRAIN_REQUIRE_PYTHON("torch safetensors");
  ScratchDir dir;
  run_pytorch_checkpoint_tool("tensors " + dir.path().string());
  const SafetensorsFile expected(dir / "expected.safetensors");
  for (const char* name : {"zip.bin", "ordered.bin", "legacy.bin", "protocol4.bin"}) {
    SCOPED_TRACE(name);
    const PytorchFile file(dir / name);
    EXPECT_EQ(file.tensors().size(), expected.tensors().size());
    expect_same_tensors(
        expected, [&](const std::string& tensor) { return file.find(tensor); }, name);
    EXPECT_EQ(file.tensors().front().name, "f32") << "tensors come in the state dict's order";

    // Views address the file's bytes in place: tied names share them, offsets and strides are kept.
    const TensorView* matrix = file.find("matrix");
    const TensorView* row = file.find("matrix.row2");
    const TensorView* column = file.find("matrix.column1");
    const TensorView* transposed = file.find("matrix.transposed");
    ASSERT_TRUE(matrix && row && column && transposed);
    EXPECT_EQ(file.find("shared.a")->data, file.find("shared.b")->data);
    EXPECT_EQ(transposed->data, matrix->data);
    EXPECT_EQ(row->data, matrix->data + 12 * sizeof(float));
    EXPECT_TRUE(row->is_contiguous());
    EXPECT_EQ(column->strides, (std::vector<int64_t>{6}));
    EXPECT_EQ(transposed->strides, (std::vector<int64_t>{1, 6}));

    // copy_into converts layout and dtype on the way into a parameter.
    for (const char* strided : {"matrix.transposed", "matrix.column1", "f16"}) {
      const TensorView& view = *file.find(strided);
      at::Tensor destination = at::zeros(view.shape, at::kDouble).requires_grad_();
      copy_into(view, destination);
      EXPECT_TRUE(bit_identical(destination.detach(), to_tensor(*expected.find(strided), at::kDouble)))
          << strided;
    }
  }
}

TEST(PytorchFile, ShardedCheckpointWithTiedWeights) {
  DTRAIN_REQUIRE_PYTHON("transformers huggingface_hub safetensors");
  ScratchDir dir;
  run_pytorch_checkpoint_tool("marian " + dir.path().string());
  const ModelWeights weights(dir / "pytorch_model.bin.index.json");
  const SafetensorsFile expected(dir / "expected.safetensors");
  EXPECT_EQ(weights.tensors().size(), expected.tensors().size());
  expect_same_tensors(
      expected, [&](const std::string& name) { return weights.find(name); }, "marian");
  // torch.save stores a storage once: the tied embeddings and lm_head are one block of the file.
  std::set<const std::byte*> tied;
  for (const auto& name : read_json(dir / "tied.json"))
    tied.insert(weights.find(name.get<std::string>())->data);
  EXPECT_EQ(tied.size(), 1u);
}

TEST(PytorchFile, PicklesThatWouldRunCodeAreRefusedWithoutRunningIt) {
  DTRAIN_REQUIRE_PYTHON("torch");
  ScratchDir dir;
  const std::vector<std::string> kinds = {"reduce", "protocol4", "legacy"};
  std::string write, unsafe_load;
  for (const auto& kind : kinds) {
    const fs::path checkpoint = dir / (kind + ".bin");
    write +=
        " + malicious " + checkpoint.string() + " " + (dir / (kind + ".ran")).string() + " --kind " + kind;
    unsafe_load += " + unsafe-load " + checkpoint.string();
  }
  run_pytorch_checkpoint_tool(write.substr(3) + " + malicious " + (dir / "object.bin").string() +
                              " unused --kind object + non-tensor " + (dir / "non-tensor.bin").string());
  for (const auto& kind : kinds) {
    SCOPED_TRACE(kind);
    const fs::path checkpoint = dir / (kind + ".bin");
    EXPECT_DTRAIN_ERROR(PytorchFile{checkpoint}, checkpoint.string(),
                        "refusing the Python global 'posix.system'", "never runs code");
    EXPECT_FALSE(fs::exists(dir / (kind + ".ran"))) << "reading the checkpoint ran its command";
  }
  EXPECT_DTRAIN_ERROR(PytorchFile(dir / "object.bin"), "object.bin",
                      "refusing the Python global 'argparse.Namespace'");
  EXPECT_DTRAIN_ERROR(PytorchFile(dir / "non-tensor.bin"), "non-tensor.bin",
                      "entry 'step' is an int, not a tensor");

  // The files are what they claim to be: Python's own unpickler runs their command.
  run_pytorch_checkpoint_tool(unsafe_load.substr(3));
  for (const auto& kind : kinds) EXPECT_TRUE(fs::exists(dir / (kind + ".ran"))) << kind;
}

TEST(PytorchFile, CompressedTruncatedAndForeignFilesAreErrors) {
  DTRAIN_REQUIRE_PYTHON("torch safetensors");
  ScratchDir dir;
  run_pytorch_checkpoint_tool("tensors " + dir.path().string() + " + compress " + (dir / "zip.bin").string() +
                              " " + (dir / "deflated.bin").string());
  EXPECT_DTRAIN_ERROR(PytorchFile(dir / "deflated.bin"), "deflated.bin", "is compressed");
  for (const auto& [name, problem] :
       {std::pair{"zip.bin", "not a readable torch.save archive"}, std::pair{"legacy.bin", "truncated"}}) {
    fs::resize_file(dir / name, fs::file_size(dir / name) - 100);
    EXPECT_DTRAIN_ERROR(PytorchFile(dir / name), name, problem);
  }
  dtrain::testing::write_file(dir / "text.bin", "not a checkpoint");
  EXPECT_DTRAIN_ERROR(PytorchFile(dir / "text.bin"), "text.bin", "not a PyTorch checkpoint");
}

// The lines of a report without terminal colours, sorted (transformers lists keys in set order).
std::vector<std::string> report_lines(const std::string& text) {
  std::istringstream in(std::regex_replace(text, std::regex("\x1b\\[[0-9;]*m"), ""));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Loads `folder` as transformers would load it into BertForSequenceClassification; returns what
// dtrain logged.
std::string load_logging(const fs::path& folder, BertForSequenceClassification& model,
                         WeightLoadReport& report) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  sink->set_pattern("%v");
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  try {
    model = BertForSequenceClassification(read_hf_config(folder));
    report = load_hf_weights(*model, kBertForSequenceClassification, folder);
  } catch (...) {
    spdlog::set_default_logger(previous);
    throw;
  }
  spdlog::set_default_logger(previous);
  return log.str();
}

at::Tensor reference_tensor(const json& rows, at::ScalarType dtype) {
  std::vector<double> values;
  for (const auto& row : rows)
    for (const auto& value : row) values.push_back(value.get<double>());
  return at::tensor(values).view({static_cast<int64_t>(rows.size()), -1}).to(dtype);
}

TEST(TransformersFolder, EveryLayoutLoadsWithTheLogitsAndTheReportOfTransformers) {
  DTRAIN_REQUIRE_PYTHON("transformers huggingface_hub");
  ScratchDir dir;
  const std::vector<std::string> layouts = {"safetensors", "safetensors-sharded", "bin",
                                            "bin-sharded", "bin-legacy",          "bare"};
  std::string command;
  for (const auto& layout : layouts) command += " + hf " + (dir / layout).string() + " --layout " + layout;
  run_pytorch_checkpoint_tool(command.substr(3));

  for (const auto& layout : layouts) {
    SCOPED_TRACE(layout);
    const fs::path folder = dir / layout;
    const json reference = read_json(folder / "reference.json");
    BertForSequenceClassification model{nullptr};
    WeightLoadReport report;
    const std::string logged = load_logging(folder, model, report);

    // What transformers reports missing (the new head, and the pooler of a bare BertModel) or
    // unexpected, dtrain reports too, in the same table.
    EXPECT_EQ(std::set<std::string>(report.newly_initialized.begin(), report.newly_initialized.end()),
              reference.at("missing_keys").get<std::set<std::string>>());
    EXPECT_EQ(std::set<std::string>(report.unused.begin(), report.unused.end()),
              reference.at("unexpected_keys").get<std::set<std::string>>());
    if (reference.at("warnings").empty()) {
      EXPECT_EQ(logged, "");
    } else {
      ASSERT_EQ(reference.at("warnings").size(), 1u);
      ASSERT_FALSE(logged.empty());
      EXPECT_EQ(report_lines(logged.substr(0, logged.size() - 1)),  // without the sink's end of line
                report_lines(reference.at("warnings")[0].get<std::string>()));
    }
    EXPECT_EQ(model->config().id2label.at(2), "positive");
    if (layout == "bare") {
      EXPECT_FALSE(report.newly_initialized.empty());
      continue;  // a new head: its logits are its own
    }

    model->eval();
    c10::NoGradGuard no_grad;
    const at::Tensor logits = model
                                  ->forward(reference_tensor(reference.at("input_ids"), at::kLong),
                                            reference_tensor(reference.at("attention_mask"), at::kLong),
                                            reference_tensor(reference.at("token_type_ids"), at::kLong))
                                  .logits;
    const at::Tensor expected = reference_tensor(reference.at("logits"), at::kFloat);
    ASSERT_EQ(logits.sizes(), expected.sizes());
    EXPECT_LE((logits - expected).abs().max().item<double>(), 1e-5);
  }
}

}  // namespace
}  // namespace dtrain::model
