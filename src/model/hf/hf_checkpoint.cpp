#include "model/hf/hf_checkpoint.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "model/config_fields.h"
#include "model/hf/model_weights.h"
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

// Buffers older checkpoints stored and models now compute (transformers made them non-persistent and
// skips them without a word when loading).
bool is_computed_buffer(std::string_view name) {
  return name == "position_ids" || ends_with(name, ".position_ids") || ends_with(name, "rotary_emb.inv_freq");
}

// transformers' loading report (utils/loading_report.py), character for character: a table of the
// checkpoint tensors the model did not use and of the parameters the checkpoint lacked, then what
// each status means.
std::string loading_report(const std::string& architecture, const fs::path& folder,
                           const WeightLoadReport& report) {
  // transformers gives UNEXPECTED rows two empty detail cells and MISSING rows one, and keeps as many
  // columns as its shortest row has.
  const size_t columns = report.newly_initialized.empty() ? 4 : 3;
  std::vector<std::vector<std::string>> rows = {{"Key", "Status", "", ""}};
  for (const auto& name : report.unused) rows.push_back({name, "UNEXPECTED", "", ""});
  for (const auto& name : report.newly_initialized) rows.push_back({name, "MISSING", "", ""});
  std::vector<size_t> widths(columns, 0);
  for (const auto& row : rows)
    for (size_t column = 0; column < columns; ++column)
      widths[column] = std::max(widths[column], row[column].size());
  auto line = [&](const std::vector<std::string>& cells, const char* separator) {
    std::string text;
    for (size_t column = 0; column < columns; ++column)
      text += fmt::format("{}{:<{}}", column ? separator : "", cells[column], widths[column]);
    return text + "\n";
  };
  std::string text =
      fmt::format("{} LOAD REPORT from: {}\n", architecture, folder.string()) + line(rows[0], " | ");
  std::vector<std::string> rule;
  for (size_t width : widths) rule.emplace_back(width, '-');
  rule.resize(4);
  text += line(rule, "-+-");
  for (size_t row = 1; row < rows.size(); ++row) text += line(rows[row], " | ");
  text += "\nNotes:";
  if (!report.unused.empty())
    text +=
        "\n- UNEXPECTED:\tcan be ignored when loading from different task/architecture; not ok if you expect "
        "identical arch.";
  if (!report.newly_initialized.empty())
    text +=
        "\n- MISSING:\tthose params were newly initialized because missing from the checkpoint. Consider "
        "training on your downstream task.";
  return text;
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
  const ModelWeights checkpoint = ModelWeights::in_folder(folder);
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
    if (!is_alias) (is_computed_buffer(view->name) ? report.ignored : report.unused).push_back(view->name);
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

  if (!report.unused.empty() || !report.newly_initialized.empty())
    spdlog::warn("{}", loading_report(architecture.name, folder, report));
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
