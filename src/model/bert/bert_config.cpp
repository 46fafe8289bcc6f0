#include "model/bert/bert_config.h"

#include <charconv>

#include "common/error.h"
#include "model/activation.h"
#include "model/config_fields.h"

namespace dtrain::model {
namespace {

using nlohmann::json;

int64_t parse_label_id(const std::string& key, const std::string& source) {
  int64_t id = -1;
  const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), id);
  DTRAIN_CHECK(error == std::errc() && end == key.data() + key.size() && id >= 0,
               "{}: field 'id2label' has key \"{}\", which is not a non-negative integer", source, key);
  return id;
}

void read_labels(ConfigFieldReader& fields, BertConfig& config) {
  const std::string& source = fields.source();
  if (fields.has("id2label")) {
    // As in PretrainedConfig: id2label decides num_labels; a disagreeing num_labels is ignored.
    fields.drop("num_labels");
    const json& node = fields.at("id2label");
    fields.check_type("id2label", node.is_object() && !node.empty(), "a non-empty object {\"0\": name, ...}");
    std::map<int64_t, std::string> id2label;
    for (const auto& [key, name] : node.items()) {
      DTRAIN_CHECK(name.is_string(), "{}: field 'id2label' maps \"{}\" to {}, expected a string", source, key,
                   name.dump());
      id2label[parse_label_id(key, source)] = name.get<std::string>();
    }
    // The classifier's output i is label i, so ids must be exactly 0..n-1.
    const int64_t count = static_cast<int64_t>(id2label.size());
    DTRAIN_CHECK(id2label.rbegin()->first == count - 1,
                 "{}: field 'id2label' must have the keys 0..{} (one per label), got key {}", source,
                 count - 1, id2label.rbegin()->first);
    config.num_labels = count;
    config.id2label = std::move(id2label);
    config.label2id.clear();
    for (const auto& [id, name] : config.id2label) config.label2id[name] = id;
  } else {
    int64_t num_labels = 2;
    fields.read("num_labels", num_labels);
    DTRAIN_CHECK(num_labels >= 1, "{}: field 'num_labels' must be at least 1, got {}", source, num_labels);
    config.set_num_labels(num_labels);
  }
  if (fields.has("label2id")) {
    // Kept as written (HF does not cross-check it either), but it must be a name -> integer map.
    const json& node = fields.at("label2id");
    fields.check_type("label2id", node.is_object(), "an object {name: id, ...}");
    config.label2id.clear();
    for (const auto& [name, id] : node.items()) {
      DTRAIN_CHECK(id.is_number_integer(), "{}: field 'label2id' maps \"{}\" to {}, expected an integer",
                   source, name, id.dump());
      config.label2id[name] = id.get<int64_t>();
    }
  }
}

}  // namespace

const char* problem_type_name(ProblemType type) {
  switch (type) {
    case ProblemType::kRegression:
      return "regression";
    case ProblemType::kSingleLabelClassification:
      return "single_label_classification";
    case ProblemType::kMultiLabelClassification:
      return "multi_label_classification";
  }
  DTRAIN_ASSERT(false, "unknown ProblemType {}", static_cast<int>(type));
}

BertConfig BertConfig::from_json(const json& object, const std::string& source) {
  ConfigFieldReader fields(object, source);
  BertConfig config;
  fields.read("model_type", config.model_type);
  DTRAIN_CHECK(config.model_type == "bert",
               "{}: model_type '{}' is not supported (dtrain runs 'bert' models)", source, config.model_type);
  fields.read_required("vocab_size", config.vocab_size);
  fields.read_required("hidden_size", config.hidden_size);
  fields.read_required("num_hidden_layers", config.num_hidden_layers);
  fields.read_required("num_attention_heads", config.num_attention_heads);
  fields.read_required("intermediate_size", config.intermediate_size);
  fields.read("hidden_act", config.hidden_act);
  fields.read("hidden_dropout_prob", config.hidden_dropout_prob);
  fields.read("attention_probs_dropout_prob", config.attention_probs_dropout_prob);
  fields.read("max_position_embeddings", config.max_position_embeddings);
  fields.read("type_vocab_size", config.type_vocab_size);
  fields.read("initializer_range", config.initializer_range);
  fields.read("layer_norm_eps", config.layer_norm_eps);
  fields.read("pad_token_id", config.pad_token_id);
  fields.read("position_embedding_type", config.position_embedding_type);
  fields.read("classifier_dropout", config.classifier_dropout);
  read_labels(fields, config);
  std::optional<std::string> problem_type;
  fields.read("problem_type", problem_type);
  if (problem_type) {
    for (ProblemType type : {ProblemType::kRegression, ProblemType::kSingleLabelClassification,
                             ProblemType::kMultiLabelClassification}) {
      if (*problem_type == problem_type_name(type)) config.problem_type = type;
    }
    DTRAIN_CHECK(config.problem_type.has_value(),
                 "{}: field 'problem_type' is '{}'; expected regression, single_label_classification or "
                 "multi_label_classification",
                 source, *problem_type);
  }
  fields.read("architectures", config.architectures);
  fields.read("torch_dtype", config.torch_dtype);
  config.extra = fields.unconsumed();
  config.validate(source);
  return config;
}

json BertConfig::to_json() const {
  json object = extra;
  object["model_type"] = model_type;
  object["vocab_size"] = vocab_size;
  object["hidden_size"] = hidden_size;
  object["num_hidden_layers"] = num_hidden_layers;
  object["num_attention_heads"] = num_attention_heads;
  object["intermediate_size"] = intermediate_size;
  object["hidden_act"] = hidden_act;
  object["hidden_dropout_prob"] = hidden_dropout_prob;
  object["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
  object["max_position_embeddings"] = max_position_embeddings;
  object["type_vocab_size"] = type_vocab_size;
  object["initializer_range"] = initializer_range;
  object["layer_norm_eps"] = layer_norm_eps;
  object["pad_token_id"] = pad_token_id;
  object["position_embedding_type"] = position_embedding_type;
  object["classifier_dropout"] = classifier_dropout ? json(*classifier_dropout) : json(nullptr);
  json id2label_object = json::object();
  for (const auto& [id, name] : id2label) id2label_object[std::to_string(id)] = name;
  object["id2label"] = std::move(id2label_object);
  object["label2id"] = label2id;
  if (problem_type) object["problem_type"] = problem_type_name(*problem_type);
  if (!architectures.empty()) object["architectures"] = architectures;
  if (torch_dtype) object["torch_dtype"] = *torch_dtype;
  return object;
}

void BertConfig::validate(const std::string& source) const {
  const auto check_positive = [&](const char* field, int64_t value) {
    DTRAIN_CHECK(value > 0, "{}: field '{}' must be positive, got {}", source, field, value);
  };
  check_positive("vocab_size", vocab_size);
  check_positive("hidden_size", hidden_size);
  check_positive("num_hidden_layers", num_hidden_layers);
  check_positive("num_attention_heads", num_attention_heads);
  check_positive("intermediate_size", intermediate_size);
  check_positive("max_position_embeddings", max_position_embeddings);
  check_positive("type_vocab_size", type_vocab_size);
  check_positive("num_labels", num_labels);
  DTRAIN_CHECK(hidden_size % num_attention_heads == 0,
               "{}: hidden_size ({}) is not a multiple of num_attention_heads ({})", source, hidden_size,
               num_attention_heads);
  DTRAIN_CHECK(parse_activation(hidden_act).has_value(), "{}: field 'hidden_act' is '{}'; supported: {}",
               source, hidden_act, supported_activation_names());
  DTRAIN_CHECK(position_embedding_type == "absolute",
               "{}: position_embedding_type '{}' is not supported (only 'absolute')", source,
               position_embedding_type);
  const auto check_probability = [&](const char* field, double value) {
    DTRAIN_CHECK(value >= 0.0 && value < 1.0, "{}: field '{}' must be in [0, 1), got {}", source, field,
                 value);
  };
  check_probability("hidden_dropout_prob", hidden_dropout_prob);
  check_probability("attention_probs_dropout_prob", attention_probs_dropout_prob);
  if (classifier_dropout) check_probability("classifier_dropout", *classifier_dropout);
  DTRAIN_CHECK(initializer_range >= 0.0, "{}: field 'initializer_range' must be non-negative, got {}", source,
               initializer_range);
  DTRAIN_CHECK(layer_norm_eps > 0.0, "{}: field 'layer_norm_eps' must be positive, got {}", source,
               layer_norm_eps);
  DTRAIN_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size,
               "{}: field 'pad_token_id' ({}) must be a token id below vocab_size ({})", source, pad_token_id,
               vocab_size);
  DTRAIN_CHECK(static_cast<int64_t>(id2label.size()) == num_labels,
               "{}: id2label has {} labels but num_labels is {}", source, id2label.size(), num_labels);
  const auto is_decoder = extra.find("is_decoder");
  DTRAIN_CHECK(is_decoder == extra.end() || *is_decoder != true,
               "{}: is_decoder is true; dtrain only runs BERT as a bidirectional encoder", source);
}

void BertConfig::set_num_labels(int64_t count) {
  std::vector<std::string> names;
  for (int64_t id = 0; id < count; ++id) names.push_back("LABEL_" + std::to_string(id));
  set_labels(names);
}

void BertConfig::set_labels(const std::vector<std::string>& names) {
  num_labels = static_cast<int64_t>(names.size());
  id2label.clear();
  label2id.clear();
  for (int64_t id = 0; id < num_labels; ++id) {
    id2label[id] = names[id];
    label2id[names[id]] = id;
  }
}

}  // namespace dtrain::model
