#include "model/hf/hf_checkpoint.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "common/atomic_file.h"
#include "common/error.h"
#include "model/hf/safetensors.h"

namespace dtrain::model {
namespace fs = std::filesystem;

const HfArchitecture kBertForSequenceClassification{
    "BertForSequenceClassification", "bert.", {"classifier.", "bert.pooler."}};

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}
bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The weights file of a folder, preferring a single file over an index as transformers does.
fs::path weights_file(const fs::path& folder) {
  DTRAIN_CHECK(fs::is_directory(folder), "model folder {} does not exist", folder.string());
  for (const char* name : {"model.safetensors", "model.safetensors.index.json"})
    if (fs::exists(folder / name)) return folder / name;
  DTRAIN_CHECK(!fs::exists(folder / "pytorch_model.bin"),
               "{} holds only pytorch_model.bin; dtrain reads safetensors (re-save it with transformers' "
               "save_pretrained(dir, safe_serialization=True))",
               folder.string());
  DTRAIN_FAIL("{} has neither model.safetensors nor model.safetensors.index.json", folder.string());
}

// The parameter name a checkpoint tensor maps to: TF-era LayerNorm.gamma/.beta become .weight/.bias,
// and a base-model checkpoint's names gain the architecture's base prefix.
std::string parameter_name(const std::string& stored, const std::string& base_prefix) {
  std::string name = base_prefix + stored;
  if (ends_with(name, ".gamma")) return name.substr(0, name.size() - 5) + "weight";
  if (ends_with(name, ".beta")) return name.substr(0, name.size() - 4) + "bias";
  return name;
}

// config.json's "torch_dtype" spelling of the weights' dtype.
std::string torch_dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat:
      return "float32";
    case at::kHalf:
      return "float16";
    case at::kBFloat16:
      return "bfloat16";
    case at::kDouble:
      return "float64";
    default:
      DTRAIN_ASSERT(false, "model weights of dtype {} cannot be saved", c10::toString(dtype));
  }
}

std::string shape_text(at::IntArrayRef shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

nlohmann::json read_config_json(const fs::path& folder) {
  DTRAIN_CHECK(fs::is_directory(folder), "model folder {} does not exist", folder.string());
  const fs::path path = folder / "config.json";
  std::ifstream in(path);
  DTRAIN_CHECK(in, "cannot open {}: a model folder needs config.json", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    DTRAIN_FAIL("{}: not valid JSON: {}", path.string(), e.what());
  }
}

BertConfig read_hf_config(const fs::path& folder) {
  return BertConfig::from_json(read_config_json(folder), (folder / "config.json").string());
}

WeightLoadReport load_hf_weights(torch::nn::Module& model, const HfArchitecture& architecture,
                                 const fs::path& folder) {
  const SafetensorsCheckpoint checkpoint(weights_file(folder));
  const auto stored = checkpoint.tensors();
  // A checkpoint of the bare base model (BertModel) has no name under the base prefix.
  const bool has_base_prefix = std::any_of(stored.begin(), stored.end(), [&](const TensorView* view) {
    return starts_with(view->name, architecture.base_prefix);
  });
  const std::string added_prefix = has_base_prefix ? "" : architecture.base_prefix;

  auto parameters = model.named_parameters(/*recurse=*/true);
  std::map<std::string, const TensorView*> source_of;
  WeightLoadReport report;
  for (const TensorView* view : stored) {
    const std::string name = parameter_name(view->name, added_prefix);
    if (parameters.contains(name))
      source_of.emplace(name, view);
    else
      report.unused.push_back(view->name);
  }

  std::vector<std::string> missing;
  for (const auto& item : parameters) {
    const std::string& name = item.key();
    auto found = source_of.find(name);
    if (found == source_of.end()) {
      const bool is_head = std::any_of(architecture.head_prefixes.begin(), architecture.head_prefixes.end(),
                                       [&](const std::string& prefix) { return starts_with(name, prefix); });
      (is_head ? report.newly_initialized : missing).push_back(name);
      continue;
    }
    const TensorView& view = *found->second;
    at::Tensor parameter = item.value();
    DTRAIN_CHECK(parameter.sizes() == at::IntArrayRef(view.shape),
                 "{}: tensor '{}' has shape {} but {} expects {} for '{}' (is config.json the checkpoint's?)",
                 checkpoint.file_of(view).string(), view.name, shape_text(view.shape), architecture.name,
                 shape_text(parameter.sizes()), name);
    copy_into(view, parameter);
    MappedFile::drop_pages(view.data, view.size);  // keep peak memory near one copy of the weights
  }
  DTRAIN_CHECK(missing.empty(), "{}: the checkpoint lacks {} tensor(s) {} needs: {}", folder.string(),
               missing.size(), architecture.name, fmt::join(missing, ", "));

  if (!report.unused.empty())
    spdlog::info("Skipped {} tensor(s) of {} that {} does not use: {}", report.unused.size(), folder.string(),
                 architecture.name, fmt::join(report.unused, ", "));
  if (!report.newly_initialized.empty())
    spdlog::warn(
        "Some weights of {} were not initialized from the model checkpoint at {} and are newly initialized: "
        "[{}]\nYou should probably TRAIN this model on a down-stream task to be able to use it for "
        "predictions "
        "and inference.",
        architecture.name, folder.string(), fmt::join(report.newly_initialized, ", "));
  return report;
}

BertForSequenceClassification load_bert_for_sequence_classification(const fs::path& folder) {
  BertForSequenceClassification model(read_hf_config(folder));
  load_hf_weights(*model, kBertForSequenceClassification, folder);
  return model;
}

void save_hf_folder(const torch::nn::Module& model, nlohmann::json config, const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  DTRAIN_CHECK(!error, "cannot create model folder {}: {}", folder.string(), error.message());

  std::vector<NamedTensor> tensors;
  for (const auto& item : model.named_parameters(/*recurse=*/true))
    tensors.push_back({item.key(), item.value()});
  DTRAIN_ASSERT(!tensors.empty(), "model has no parameters to save");

  config["torch_dtype"] = torch_dtype_name(tensors.front().tensor.scalar_type());
  // Weights first: a folder with a config.json is complete.
  write_safetensors(folder / "model.safetensors", tensors);
  write_text_atomically(folder / "config.json", config.dump(2) + "\n");
}

void save_hf_checkpoint(const BertForSequenceClassificationImpl& model, const fs::path& folder) {
  BertConfig config = model.config();
  config.architectures = {kBertForSequenceClassification.name};
  config.model_type = "bert";
  save_hf_folder(model, config.to_json(), folder);
}

}  // namespace dtrain::model
