#include "model/hf/hf_checkpoint.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "model/config_fields.h"
#include "model/hf/safetensors.h"

namespace dtrain::model {
namespace fs = std::filesystem;

const HfArchitecture kBertForSequenceClassification{
    "BertForSequenceClassification", "bert.", {"classifier.", "bert.pooler."}, {}, {}, {}};

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

bool is_computed(const std::string& name, const HfArchitecture& architecture) {
  return std::any_of(architecture.computed_suffixes.begin(), architecture.computed_suffixes.end(),
                     [&](const std::string& suffix) { return ends_with(name, suffix); });
}

// Parameters, then buffers, under their registered names, without the computed ones.
std::vector<NamedTensor> loadable_state(const torch::nn::Module& model, const HfArchitecture& architecture) {
  std::vector<NamedTensor> state;
  for (const auto& item : model.named_parameters(/*recurse=*/true))
    if (!is_computed(item.key(), architecture)) state.push_back({item.key(), item.value()});
  for (const auto& item : model.named_buffers(/*recurse=*/true))
    if (!is_computed(item.key(), architecture)) state.push_back({item.key(), item.value()});
  return state;
}

}  // namespace

BertConfig read_hf_config(const fs::path& folder) {
  DTRAIN_CHECK(fs::is_directory(folder), "model folder {} does not exist", folder.string());
  const fs::path path = folder / "config.json";
  DTRAIN_CHECK(fs::exists(path), "cannot open {}: a model folder needs config.json", path.string());
  return BertConfig::from_json(read_json_file(path.string()), path.string());
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

  std::map<std::string, const TensorView*> stored_by_name;  // under the names the model uses
  for (const TensorView* view : stored) {
    const std::string name = parameter_name(view->name, added_prefix);
    if (!is_computed(name, architecture)) stored_by_name.emplace(name, view);
  }
  // Each state entry's tensor: its own, else the first stored alias.
  const std::vector<NamedTensor> state = loadable_state(model, architecture);
  std::map<std::string, const TensorView*> source_of;
  std::set<std::string> used;
  for (const NamedTensor& item : state) {
    std::vector<std::string> candidates{item.name};
    if (auto aliases = architecture.aliases.find(item.name); aliases != architecture.aliases.end())
      candidates.insert(candidates.end(), aliases->second.begin(), aliases->second.end());
    for (const std::string& candidate : candidates) {
      if (auto found = stored_by_name.find(candidate); found != stored_by_name.end()) {
        source_of.emplace(item.name, found->second);
        used.insert(candidate);
        break;
      }
    }
  }
  WeightLoadReport report;
  for (const TensorView* view : stored) {
    const std::string name = parameter_name(view->name, added_prefix);
    if (is_computed(name, architecture) || used.count(name)) continue;
    // Another name of a tied tensor the model loaded counts as used.
    bool is_alias = false;
    for (const auto& [target, aliases] : architecture.aliases)
      is_alias = is_alias || (source_of.count(target) &&
                              std::find(aliases.begin(), aliases.end(), name) != aliases.end());
    if (!is_alias) report.unused.push_back(view->name);
  }

  std::vector<std::string> missing;
  for (const NamedTensor& item : state) {
    const std::string& name = item.name;
    auto found = source_of.find(name);
    if (found == source_of.end()) {
      const bool is_head = std::any_of(architecture.head_prefixes.begin(), architecture.head_prefixes.end(),
                                       [&](const std::string& prefix) { return starts_with(name, prefix); });
      const bool is_optional = std::find(architecture.optional.begin(), architecture.optional.end(), name) !=
                               architecture.optional.end();
      if (is_head)
        report.newly_initialized.push_back(name);
      else if (!is_optional)
        missing.push_back(name);
      continue;
    }
    const TensorView& view = *found->second;
    at::Tensor destination = item.tensor;
    DTRAIN_CHECK(destination.sizes() == at::IntArrayRef(view.shape),
                 "{}: tensor '{}' has shape {} but {} expects {} for '{}' (is config.json the checkpoint's?)",
                 checkpoint.file_of(view).string(), view.name, shape_text(view.shape), architecture.name,
                 shape_text(destination.sizes()), name);
    copy_into(view, destination);
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

std::string write_hf_weights(const torch::nn::Module& model, const HfArchitecture& architecture,
                             const fs::path& file) {
  const std::vector<NamedTensor> tensors = loadable_state(model, architecture);
  DTRAIN_ASSERT(!tensors.empty(), "model has no parameters to save");
  write_safetensors(file, tensors);
  return torch_dtype_name(tensors.front().tensor.scalar_type());
}

void save_hf_checkpoint(const BertForSequenceClassificationImpl& model, const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  DTRAIN_CHECK(!error, "cannot create model folder {}: {}", folder.string(), error.message());

  BertConfig config = model.config();
  config.architectures = {kBertForSequenceClassification.name};
  config.model_type = "bert";
  // Weights first: a folder with a config.json is complete.
  config.torch_dtype = write_hf_weights(model, kBertForSequenceClassification, folder / "model.safetensors");
  write_text_atomically(folder / "config.json", config.to_json().dump(2) + "\n");
}

}  // namespace dtrain::model
