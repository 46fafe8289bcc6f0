#include "train/run_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <set>

#include "common/error.h"

namespace dtrain::train {
namespace {

// One table of keys per section drives parsing, unknown-key detection and dumping alike.
template <class Visitor>
void visit(TrainingArguments& t, Visitor&& field) {
  field("output_dir", t.output_dir);
  field("overwrite_output_dir", t.overwrite_output_dir);
  field("per_device_train_batch_size", t.per_device_train_batch_size);
  field("per_device_eval_batch_size", t.per_device_eval_batch_size);
  field("gradient_accumulation_steps", t.gradient_accumulation_steps);
  field("num_train_epochs", t.num_train_epochs);
  field("max_steps", t.max_steps);
  field("dataloader_drop_last", t.dataloader_drop_last);
  field("group_by_length", t.group_by_length);
  field("learning_rate", t.learning_rate);
  field("weight_decay", t.weight_decay);
  field("adam_beta1", t.adam_beta1);
  field("adam_beta2", t.adam_beta2);
  field("adam_epsilon", t.adam_epsilon);
  field("max_grad_norm", t.max_grad_norm);
  field("lr_scheduler_type", t.lr_scheduler_type);
  field("warmup_ratio", t.warmup_ratio);
  field("warmup_steps", t.warmup_steps);
  field("fp16", t.fp16);
  field("bf16", t.bf16);
  field("ddp_bucket_cap_mb", t.ddp_bucket_cap_mb);
  field("ddp_allreduce_dtype", t.ddp_allreduce_dtype);
  field("mfu_peak_flops", t.mfu_peak_flops);
  field("report_to", t.report_to);
  field("logging_dir", t.logging_dir);
  field("ddp_timeout", t.ddp_timeout);
  field("heartbeat_timeout", t.heartbeat_timeout);
  field("max_consecutive_nonfinite_steps", t.max_consecutive_nonfinite_steps);
  field("logging_strategy", t.logging_strategy);
  field("logging_steps", t.logging_steps);
  field("logging_first_step", t.logging_first_step);
  field("log_level", t.log_level);
  field("log_level_replica", t.log_level_replica);
  field("disable_tqdm", t.disable_tqdm);
  field("eval_strategy", t.eval_strategy);
  field("eval_steps", t.eval_steps);
  field("save_strategy", t.save_strategy);
  field("save_steps", t.save_steps);
  field("save_total_limit", t.save_total_limit);
  field("load_best_model_at_end", t.load_best_model_at_end);
  field("metric_for_best_model", t.metric_for_best_model);
  field("greater_is_better", t.greater_is_better);
  field("resume_from_checkpoint", t.resume_from_checkpoint);
  field("allow_data_change_on_resume", t.allow_data_change_on_resume);
  field("keep_global_batch_on_resume", t.keep_global_batch_on_resume);
  field("early_stopping_patience", t.early_stopping_patience);
  field("early_stopping_threshold", t.early_stopping_threshold);
  field("predict_with_generate", t.predict_with_generate);
  field("generation_max_length", t.generation_max_length);
  field("generation_num_beams", t.generation_num_beams);
  field("label_smoothing_factor", t.label_smoothing_factor);
  field("seed", t.seed);
  field("data_seed", t.data_seed);
}

template <class Visitor>
void visit(DataSection& d, Visitor&& field) {
  field("train_file", d.train_file);
  field("eval_file", d.eval_file);
  field("pad_to_multiple_of", d.pad_to_multiple_of);
  field("task_name", d.task_name);
  field("tokenizer", d.tokenizer);
}

template <class Visitor>
void visit(ModelSection& m, Visitor&& field) {
  field("name_or_path", m.name_or_path);
  field("config", m.config);
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return "an integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "a number";
  else
    return "a string";
}

// YAML scalars carry no type; read them as the type the key demands, with a clear error otherwise.
template <class T>
T read_scalar(const YAML::Node& node, const std::string& where) {
  DTRAIN_CHECK(node.IsScalar(), "{}: expected {}, got a {}", where, type_name<T>(),
               node.IsMap()        ? "mapping"
               : node.IsSequence() ? "list"
                                   : "null");
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    DTRAIN_FAIL("{}: expected {}, got '{}'", where, type_name<T>(), node.Scalar());
  }
}

nlohmann::json yaml_to_json(const YAML::Node& node, const std::string& where) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      auto array = nlohmann::json::array();
      for (size_t i = 0; i < node.size(); ++i) array.push_back(yaml_to_json(node[i], where));
      return array;
    }
    case YAML::NodeType::Map: {
      auto object = nlohmann::json::object();
      for (const auto& entry : node) {
        const auto key = entry.first.as<std::string>();
        object[key] = yaml_to_json(entry.second, where + "." + key);
      }
      return object;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  // Quoted scalars ("tag" is "!") stay strings; plain ones take the narrowest type that parses.
  if (node.Tag() == "!") return node.Scalar();
  int64_t integer;
  double number;
  bool flag;
  if (YAML::convert<int64_t>::decode(node, integer)) return integer;
  if (YAML::convert<double>::decode(node, number)) return number;
  if (YAML::convert<bool>::decode(node, flag)) return flag;
  return node.Scalar();
}

YAML::Node json_to_yaml(const nlohmann::json& value) {
  YAML::Node node;
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) node[key] = json_to_yaml(item);
  } else if (value.is_array()) {
    for (const auto& item : value) node.push_back(json_to_yaml(item));
  } else if (value.is_string()) {
    node = value.get<std::string>();
  } else if (value.is_boolean()) {
    node = value.get<bool>();
  } else if (value.is_number_integer()) {
    node = value.get<int64_t>();
  } else if (value.is_number()) {
    node = value.get<double>();
  }
  return node;
}

// Reads one section's keys into its struct; any key not in the table is an error.
template <class Section>
void read_section(const YAML::Node& node, const std::string& name, Section& section) {
  if (!node || node.IsNull()) return;
  DTRAIN_CHECK(node.IsMap(), "config: '{}' must be a mapping of keys to values", name);
  std::set<std::string> known;
  visit(section, [&](const char* key, auto& value) {
    known.insert(key);
    const YAML::Node item = node[key];
    if (!item) return;
    const std::string where = "config: " + name + "." + key;
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<T, nlohmann::json>) {
      value = yaml_to_json(item, where);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      // One name or a list of names, as Trainer accepts.
      value.clear();
      if (item.IsSequence()) {
        for (size_t i = 0; i < item.size(); ++i) {
          value.push_back(read_scalar<std::string>(item[i], where + "[" + std::to_string(i) + "]"));
        }
      } else {
        value.push_back(read_scalar<std::string>(item, where));
      }
    } else if constexpr (std::is_same_v<T, std::optional<int64_t>> ||
                         std::is_same_v<T, std::optional<double>> || std::is_same_v<T, std::optional<bool>> ||
                         std::is_same_v<T, std::optional<std::string>>) {
      if (item.IsNull() || (item.IsScalar() && (item.Scalar() == "null" || item.Scalar() == "None"))) {
        value.reset();
      } else {
        value = read_scalar<typename T::value_type>(item, where);
      }
    } else {
      value = read_scalar<T>(item, where);
    }
  });
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    if (!known.count(key)) {
      std::string choices;
      for (const auto& k : known) choices += (choices.empty() ? "" : ", ") + k;
      DTRAIN_FAIL("config: unknown key '{}.{}' (known: {})", name, key, choices);
    }
  }
}

template <class Section>
void write_section(YAML::Emitter& out, const std::string& name, Section section) {
  out << YAML::Key << name << YAML::Value << YAML::BeginMap;
  visit(section, [&](const char* key, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    out << YAML::Key << key << YAML::Value;
    if constexpr (std::is_same_v<T, nlohmann::json>) {
      out << json_to_yaml(value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      out << YAML::DoubleQuoted << value;
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      out << YAML::Flow << YAML::BeginSeq;
      for (const auto& item : value) out << YAML::DoubleQuoted << item;
      out << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      if (value)
        out << YAML::DoubleQuoted << *value;
      else
        out << YAML::Null;
    } else if constexpr (std::is_same_v<T, std::optional<int64_t>> ||
                         std::is_same_v<T, std::optional<double>> || std::is_same_v<T, std::optional<bool>>) {
      if (value)
        out << *value;
      else
        out << YAML::Null;
    } else {
      out << value;
    }
  });
  out << YAML::EndMap;
}

// "--learning_rate 1e-4" / "--model.name_or_path=X" -> (section path, YAML value); bare training
// keys belong to the training section, as TrainingArguments flags do in Hugging Face scripts.
void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides) {
  for (size_t i = 0; i < overrides.size(); ++i) {
    std::string arg = overrides[i];
    DTRAIN_CHECK(arg.rfind("--", 0) == 0 && arg.size() > 2, "command line: expected --key value, got '{}'",
                 arg);
    arg = arg.substr(2);
    std::string value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      DTRAIN_CHECK(i + 1 < overrides.size(), "command line: --{} needs a value", arg);
      value = overrides[++i];
    }
    std::vector<std::string> path;
    for (size_t start = 0;;) {
      const auto dot = arg.find('.', start);
      path.push_back(arg.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (path.size() == 1) path.insert(path.begin(), "training");
    DTRAIN_CHECK(path[0] == "training" || path[0] == "model" || path[0] == "data",
                 "command line: --{}: unknown section '{}' (model, data or training)", arg, path[0]);
    // Walk down with fresh handles: yaml-cpp's operator= on a handle would rebind, not descend.
    std::vector<YAML::Node> chain{root};
    for (size_t level = 0; level + 1 < path.size(); ++level) {
      YAML::Node child = chain.back()[path[level]];
      if (!child.IsMap()) chain.back()[path[level]] = YAML::Node(YAML::NodeType::Map);
      chain.push_back(chain.back()[path[level]]);
    }
    chain.back()[path.back()] = YAML::Load(value);
  }
}

}  // namespace

RunConfig RunConfig::load(const std::filesystem::path& yaml_path, const std::vector<std::string>& overrides) {
  YAML::Node root(YAML::NodeType::Map);
  if (!yaml_path.empty()) {
    DTRAIN_CHECK(std::filesystem::is_regular_file(yaml_path), "{}: config file not found",
                 yaml_path.string());
    try {
      root = YAML::LoadFile(yaml_path.string());
    } catch (const YAML::Exception& e) {
      DTRAIN_FAIL("{}:{}: invalid YAML: {}", yaml_path.string(), e.mark.line + 1, e.msg);
    }
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    DTRAIN_CHECK(root.IsMap(), "{}: the config must be a mapping with model, data and training sections",
                 yaml_path.string());
  }
  apply_overrides(root, overrides);

  RunConfig config;
  for (const auto& entry : root) {
    const auto key = entry.first.as<std::string>();
    DTRAIN_CHECK(key == "model" || key == "data" || key == "training",
                 "config: unknown section '{}' (model, data or training)", key);
  }
  read_section(root["model"], "model", config.model);
  read_section(root["data"], "data", config.data);
  read_section(root["training"], "training", config.training);

  DTRAIN_CHECK(config.model.name_or_path.empty() != config.model.config.is_null(),
               "config: set exactly one of model.name_or_path (a Hugging Face folder) and model.config "
               "(to train from scratch)");
  DTRAIN_CHECK(config.model.config.is_null() || config.model.config.is_object(),
               "config: model.config must be a mapping of config.json fields");
  DTRAIN_CHECK(!config.data.train_file.empty(), "config: data.train_file is required");
  config.training.validate();
  return config;
}

std::string RunConfig::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  write_section(out, "model", model);
  write_section(out, "data", data);
  write_section(out, "training", training);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace dtrain::train
