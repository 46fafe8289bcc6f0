// BertConfig <-> Hugging Face config.json: defaults for absent fields, label bookkeeping, errors that
// name the file and field, and a lossless round trip.
#include "model/bert/bert_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace dtrain::model {
namespace {

using nlohmann::json;

// bert-base-uncased's config.json as published on the Hugging Face hub.
const json kBertBaseUncased = json::parse(R"({
  "architectures": ["BertForMaskedLM"],
  "attention_probs_dropout_prob": 0.1,
  "gradient_checkpointing": false,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "layer_norm_eps": 1e-12,
  "max_position_embeddings": 512,
  "model_type": "bert",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 0,
  "position_embedding_type": "absolute",
  "transformers_version": "4.6.0.dev0",
  "type_vocab_size": 2,
  "use_cache": true,
  "vocab_size": 30522
})");

json minimal_config() {
  return {{"vocab_size", 100},
          {"hidden_size", 32},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"intermediate_size", 64}};
}

// The dtrain::Error message from parsing `object`, or "" when it parses.
std::string parse_error(const json& object) {
  try {
    BertConfig::from_json(object);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(BertConfig, AbsentFieldsGetHuggingFaceDefaults) {
  const BertConfig config = BertConfig::from_json(minimal_config());
  EXPECT_EQ(config.vocab_size, 100);
  EXPECT_EQ(config.hidden_size, 32);
  EXPECT_EQ(config.attention_head_size(), 8);
  EXPECT_EQ(config.hidden_act, "gelu");
  EXPECT_DOUBLE_EQ(config.hidden_dropout_prob, 0.1);
  EXPECT_DOUBLE_EQ(config.attention_probs_dropout_prob, 0.1);
  EXPECT_EQ(config.max_position_embeddings, 512);
  EXPECT_EQ(config.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(config.initializer_range, 0.02);
  EXPECT_DOUBLE_EQ(config.layer_norm_eps, 1e-12);
  EXPECT_EQ(config.pad_token_id, 0);
  EXPECT_EQ(config.position_embedding_type, "absolute");
  EXPECT_FALSE(config.classifier_dropout.has_value());
  EXPECT_DOUBLE_EQ(config.effective_classifier_dropout(), 0.1);
  EXPECT_EQ(config.num_labels, 2);
  EXPECT_EQ(config.id2label, (std::map<int64_t, std::string>{{0, "LABEL_0"}, {1, "LABEL_1"}}));
  EXPECT_EQ(config.label2id, (std::map<std::string, int64_t>{{"LABEL_0", 0}, {"LABEL_1", 1}}));
  EXPECT_FALSE(config.problem_type.has_value());
  EXPECT_EQ(config.model_type, "bert");
  EXPECT_TRUE(config.extra.empty());
}

TEST(BertConfig, ParsesThePublishedBertBaseConfig) {
  const BertConfig config = BertConfig::from_json(kBertBaseUncased);
  EXPECT_EQ(config.num_hidden_layers, 12);
  EXPECT_EQ(config.attention_head_size(), 64);
  EXPECT_EQ(config.architectures, std::vector<std::string>{"BertForMaskedLM"});
  EXPECT_EQ(
      config.extra,
      (json{{"gradient_checkpointing", false}, {"transformers_version", "4.6.0.dev0"}, {"use_cache", true}}));
}

TEST(BertConfig, NumLabelsWithoutId2LabelGeneratesNames) {
  json object = minimal_config();
  object["num_labels"] = 4;
  const BertConfig config = BertConfig::from_json(object);
  EXPECT_EQ(config.num_labels, 4);
  EXPECT_EQ(config.id2label.at(3), "LABEL_3");
  EXPECT_EQ(config.label2id.at("LABEL_2"), 2);
}

TEST(BertConfig, Id2LabelDecidesNumLabels) {
  json object = minimal_config();
  object["num_labels"] = 2;  // disagrees: id2label wins, as in transformers
  object["id2label"] = {{"0", "negative"}, {"2", "positive"}, {"1", "neutral"}};
  const BertConfig config = BertConfig::from_json(object);
  EXPECT_EQ(config.num_labels, 3);
  EXPECT_EQ(config.id2label.at(1), "neutral");
  EXPECT_EQ(config.label2id.at("positive"), 2);
  EXPECT_FALSE(config.to_json().contains("num_labels"));
}

TEST(BertConfig, RoundTripPreservesEveryField) {
  json object = kBertBaseUncased;
  object["id2label"] = {{"0", "unacceptable"}, {"1", "acceptable"}};
  object["label2id"] = {{"unacceptable", 0}, {"acceptable", 1}};
  object["problem_type"] = "single_label_classification";
  object["classifier_dropout"] = 0.2;
  object["torch_dtype"] = "float32";
  object["custom_nested"] = {{"keep", {1, 2, 3}}};
  const BertConfig config = BertConfig::from_json(object);
  EXPECT_EQ(config.problem_type, ProblemType::kSingleLabelClassification);
  EXPECT_DOUBLE_EQ(config.effective_classifier_dropout(), 0.2);
  EXPECT_EQ(config.to_json(), object);
  EXPECT_EQ(BertConfig::from_json(config.to_json()).to_json(), object);
}

TEST(BertConfig, ErrorsNameTheFileAndField) {
  json missing = minimal_config();
  missing.erase("hidden_size");
  EXPECT_EQ(parse_error(missing), "config.json: missing required field 'hidden_size'");

  json wrong_type = minimal_config();
  wrong_type["num_hidden_layers"] = "12";
  EXPECT_EQ(parse_error(wrong_type), "config.json: field 'num_hidden_layers' must be an integer, got \"12\"");

  json wrong_float = minimal_config();
  wrong_float["layer_norm_eps"] = true;
  EXPECT_EQ(parse_error(wrong_float), "config.json: field 'layer_norm_eps' must be a number, got true");

  json heads = minimal_config();
  heads["num_attention_heads"] = 5;
  EXPECT_EQ(parse_error(heads), "config.json: hidden_size (32) is not a multiple of num_attention_heads (5)");

  json relative = minimal_config();
  relative["position_embedding_type"] = "relative_key";
  EXPECT_EQ(parse_error(relative),
            "config.json: position_embedding_type 'relative_key' is not supported (only 'absolute')");

  json activation = minimal_config();
  activation["hidden_act"] = "gelu_fancy";
  EXPECT_NE(parse_error(activation).find("config.json: field 'hidden_act' is 'gelu_fancy'; supported: gelu,"),
            std::string::npos);

  json roberta = minimal_config();
  roberta["model_type"] = "roberta";
  EXPECT_NE(parse_error(roberta).find("model_type 'roberta' is not supported"), std::string::npos);

  json gaps = minimal_config();
  gaps["id2label"] = {{"0", "a"}, {"2", "b"}};
  EXPECT_EQ(parse_error(gaps),
            "config.json: field 'id2label' must have the keys 0..1 (one per label), got key 2");

  json bad_key = minimal_config();
  bad_key["id2label"] = {{"zero", "a"}};
  EXPECT_NE(parse_error(bad_key).find("\"zero\", which is not a non-negative integer"), std::string::npos);

  json problem = minimal_config();
  problem["problem_type"] = "ranking";
  EXPECT_NE(parse_error(problem).find("field 'problem_type' is 'ranking'"), std::string::npos);

  json dropout = minimal_config();
  dropout["hidden_dropout_prob"] = 1.5;
  EXPECT_EQ(parse_error(dropout), "config.json: field 'hidden_dropout_prob' must be in [0, 1), got 1.5");

  json pad = minimal_config();
  pad["pad_token_id"] = 100;
  EXPECT_NE(parse_error(pad).find("'pad_token_id' (100) must be a token id below vocab_size (100)"),
            std::string::npos);

  json decoder = minimal_config();
  decoder["is_decoder"] = true;
  EXPECT_NE(parse_error(decoder).find("is_decoder"), std::string::npos);

  EXPECT_EQ(parse_error(json::array()), "config.json: expected a JSON object, got array");
}

TEST(BertConfig, ErrorsUseTheGivenSourceName) {
  json missing = minimal_config();
  missing.erase("vocab_size");
  EXPECT_THROW(
      {
        try {
          BertConfig::from_json(missing, "out/checkpoint-10/config.json");
        } catch (const Error& error) {
          EXPECT_STREQ(error.what(), "out/checkpoint-10/config.json: missing required field 'vocab_size'");
          throw;
        }
      },
      Error);
}

}  // namespace
}  // namespace dtrain::model
