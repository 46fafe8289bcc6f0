#pragma once
// A Hugging Face BERT config.json as a struct. Torch-free: the checkpoint and CLI code read it too.
//
// from_json applies the defaults transformers' BertConfig/PretrainedConfig apply to absent fields,
// except for the five shape fields (vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
// intermediate_size), which are required: defaulting them silently to bert-base would only fail later
// with a confusing shape mismatch. Fields dtrain does not interpret are kept verbatim in `extra` and
// written back by to_json, so a load/save round trip loses nothing.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dtrain::model {

// The loss BertForSequenceClassification uses, named as in config.json's "problem_type".
enum class ProblemType { kRegression, kSingleLabelClassification, kMultiLabelClassification };

struct BertConfig {
  // Default member values are transformers' BertConfig() defaults (bert-base-uncased shapes).
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";
  std::optional<double> classifier_dropout;  // null: the classifier uses hidden_dropout_prob

  // Label space. Keep num_labels, id2label and label2id consistent: use set_num_labels/set_labels.
  int64_t num_labels = 2;
  std::map<int64_t, std::string> id2label{{0, "LABEL_0"}, {1, "LABEL_1"}};
  std::map<std::string, int64_t> label2id{{"LABEL_0", 0}, {"LABEL_1", 1}};
  std::optional<ProblemType> problem_type;  // null: chosen from num_labels and the label dtype

  std::vector<std::string> architectures;  // e.g. {"BertForSequenceClassification"}
  std::string model_type = "bert";
  std::optional<std::string> torch_dtype;           // e.g. "float32"
  nlohmann::json extra = nlohmann::json::object();  // unknown fields, verbatim

  // Parses and validates; errors read "<source>: field 'x' ...". Throws dtrain::Error.
  static BertConfig from_json(const nlohmann::json& json, const std::string& source = "config.json");
  // Hugging Face's layout: id2label keys as strings, label2id, no num_labels (id2label carries it).
  nlohmann::json to_json() const;

  // Checks the cross-field rules (heads divide hidden size, known activation, ranges). from_json
  // calls it; call it after building a config in code.
  void validate(const std::string& source = "config.json") const;

  // Sets num_labels with generated names LABEL_0..LABEL_{n-1}, like PretrainedConfig.num_labels = n.
  void set_num_labels(int64_t count);
  // Sets the label names in index order (id2label, label2id and num_labels together).
  void set_labels(const std::vector<std::string>& names);

  int64_t attention_head_size() const { return hidden_size / num_attention_heads; }
  // The classifier's dropout probability: classifier_dropout when set, else hidden_dropout_prob.
  double effective_classifier_dropout() const { return classifier_dropout.value_or(hidden_dropout_prob); }
};

// "regression", "single_label_classification", "multi_label_classification".
const char* problem_type_name(ProblemType type);

}  // namespace dtrain::model
