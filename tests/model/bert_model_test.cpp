// Properties of the LibTorch BERT that need no reference: Hugging Face parameter names, HF-style
// initialization, padding invariance and a usable backward pass.
#include "model/bert/bert_model.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "common/error.h"

namespace dtrain::model {
namespace {

BertConfig two_layer_config() {
  BertConfig config;
  config.vocab_size = 120;
  config.hidden_size = 64;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.intermediate_size = 128;
  config.max_position_embeddings = 32;
  config.set_num_labels(3);
  return config;
}

TEST(BertModel, ParameterNamesAreHuggingFaceStateDictKeys) {
  BertForSequenceClassification model(two_layer_config());
  std::set<std::string> names;
  for (const auto& parameter : model->named_parameters()) names.insert(parameter.key());

  // transformers' BertForSequenceClassification.state_dict() keys, minus the position_ids buffer.
  std::set<std::string> expected = {"bert.embeddings.word_embeddings.weight",
                                    "bert.embeddings.position_embeddings.weight",
                                    "bert.embeddings.token_type_embeddings.weight",
                                    "bert.embeddings.LayerNorm.weight",
                                    "bert.embeddings.LayerNorm.bias",
                                    "bert.pooler.dense.weight",
                                    "bert.pooler.dense.bias",
                                    "classifier.weight",
                                    "classifier.bias"};
  for (const std::string layer : {"0", "1"}) {
    for (const std::string module :
         {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
          "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"}) {
      for (const std::string kind : {"weight", "bias"}) {
        expected.insert("bert.encoder.layer." + layer + "." + module + "." + kind);
      }
    }
  }
  EXPECT_EQ(names, expected);
  EXPECT_TRUE(model->named_buffers().is_empty());

  const auto parameters = model->named_parameters();
  EXPECT_EQ(parameters["bert.encoder.layer.1.intermediate.dense.weight"].sizes(), at::IntArrayRef({128, 64}));
  EXPECT_EQ(parameters["bert.embeddings.word_embeddings.weight"].sizes(), at::IntArrayRef({120, 64}));
  EXPECT_EQ(parameters["classifier.weight"].sizes(), at::IntArrayRef({3, 64}));
}

TEST(BertModel, InitializationFollowsHuggingFaceInitWeights) {
  BertConfig config = two_layer_config();
  config.hidden_size = 256;
  config.intermediate_size = 512;
  config.initializer_range = 0.05;
  config.pad_token_id = 3;
  BertForSequenceClassification model(config, /*seed=*/11);
  const auto parameters = model->named_parameters();
  for (const auto& parameter : parameters) {
    const std::string& name = parameter.key();
    const at::Tensor& value = parameter.value();
    SCOPED_TRACE(name);
    const bool is_layer_norm = name.find("LayerNorm") != std::string::npos;
    const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (is_layer_norm && !is_bias) {
      EXPECT_TRUE(value.eq(1.0).all().item<bool>());
    } else if (is_bias) {
      EXPECT_TRUE(value.eq(0.0).all().item<bool>());
    } else if (value.numel() >= 10000) {
      EXPECT_NEAR(value.std().item<double>(), 0.05, 0.05 * 0.03);
      EXPECT_NEAR(value.mean().item<double>(), 0.0, 0.003);
    }
  }
  const at::Tensor words = parameters["bert.embeddings.word_embeddings.weight"];
  EXPECT_TRUE(words[3].eq(0.0).all().item<bool>()) << "the pad_token_id row starts at zero";
  EXPECT_GT(words[4].abs().sum().item<double>(), 0.0);

  // Seeded: same seed, same weights; another seed, other weights.
  BertForSequenceClassification same(config, 11);
  BertForSequenceClassification other(config, 12);
  const at::Tensor query = parameters["bert.encoder.layer.0.attention.self.query.weight"];
  EXPECT_TRUE(query.equal(same->named_parameters()["bert.encoder.layer.0.attention.self.query.weight"]));
  EXPECT_FALSE(query.equal(other->named_parameters()["bert.encoder.layer.0.attention.self.query.weight"]));
}

TEST(BertModel, PaddingDoesNotChangeLogits) {
  BertForSequenceClassification model(two_layer_config(), 5);
  model->eval();
  at::NoGradGuard no_grad;
  const at::Tensor tokens = at::tensor({2, 17, 45, 9, 88, 31, 4}, at::kLong);
  const at::Tensor types = at::tensor({0, 0, 0, 0, 1, 1, 1}, at::kLong);
  const int64_t length = tokens.size(0);
  const at::Tensor unpadded =
      model->forward(tokens.unsqueeze(0), at::ones({1, length}, at::kLong), types.unsqueeze(0)).logits;

  for (const int64_t padded_length : {length + 1, length + 9}) {
    SCOPED_TRACE(padded_length);
    // Padded positions hold arbitrary ids and types: the mask alone must hide them.
    at::Tensor ids = at::randint(1, 120, {2, padded_length}, at::kLong);
    at::Tensor type_ids = at::randint(0, 2, {2, padded_length}, at::kLong);
    at::Tensor mask = at::ones({2, padded_length}, at::kLong);
    ids[0].narrow(0, 0, length).copy_(tokens);
    type_ids[0].narrow(0, 0, length).copy_(types);
    mask[0].narrow(0, length, padded_length - length).zero_();
    const at::Tensor logits = model->forward(ids, mask, type_ids).logits;
    EXPECT_LE((logits[0] - unpadded[0]).abs().max().item<double>(), 1e-6);
  }
}

TEST(BertModel, SequenceOutputIsBatchFirstAndIgnoresPadding) {
  BertModel bert(two_layer_config());
  bert->eval();
  at::NoGradGuard no_grad;
  const at::Tensor ids = at::randint(1, 120, {2, 9}, at::kLong);
  at::Tensor mask = at::ones({2, 9}, at::kLong);
  mask[1].narrow(0, 5, 4).zero_();
  const BertModelOutput padded = bert->forward(ids, mask, {});
  EXPECT_EQ(padded.sequence_output.sizes(), at::IntArrayRef({2, 9, 64}));
  EXPECT_EQ(padded.pooled_output.sizes(), at::IntArrayRef({2, 64}));

  // Sample 1 alone, cut to its 5 real tokens: the same hidden states for those tokens.
  const BertModelOutput alone = bert->forward(ids[1].narrow(0, 0, 5).unsqueeze(0), {}, {});
  EXPECT_LE((padded.sequence_output[1].narrow(0, 0, 5) - alone.sequence_output[0]).abs().max().item<double>(),
            1e-6);
  EXPECT_LE((padded.pooled_output[1] - alone.pooled_output[0]).abs().max().item<double>(), 1e-6);
}

TEST(BertModel, BackwardReachesEveryParameterAndDropoutOnlyActsInTraining) {
  BertConfig config = two_layer_config();
  BertForSequenceClassification model(config, 3);
  const at::Tensor ids = at::randint(1, config.vocab_size, {4, 10}, at::kLong);
  ids[1].narrow(0, 6, 4).fill_(config.pad_token_id);
  at::Tensor mask = ids.ne(config.pad_token_id).to(at::kLong);
  ids[2][3] = config.pad_token_id;  // attended, so only padding_idx keeps its row's gradient at zero
  const at::Tensor labels = at::tensor({0, 2, 1, 2}, at::kLong);

  model->train();
  const SequenceClassifierOutput first = model->forward(ids, mask, {}, labels);
  const SequenceClassifierOutput second = model->forward(ids, mask, {}, labels);
  EXPECT_FALSE(first.logits.equal(second.logits)) << "dropout is active in training mode";
  ASSERT_TRUE(first.loss.has_value());
  first.loss->backward();
  for (const auto& parameter : model->named_parameters()) {
    SCOPED_TRACE(parameter.key());
    const at::Tensor& grad = parameter.value().grad();
    ASSERT_TRUE(grad.defined());
    EXPECT_TRUE(grad.isfinite().all().item<bool>());
    EXPECT_GT(grad.abs().sum().item<double>(), 0.0);
  }
  const at::Tensor word_grad = model->named_parameters()["bert.embeddings.word_embeddings.weight"].grad();
  EXPECT_TRUE(word_grad[config.pad_token_id].eq(0.0).all().item<bool>())
      << "padding_idx row gets no gradient";

  model->eval();
  at::NoGradGuard no_grad;
  EXPECT_TRUE(model->forward(ids, mask, {}).logits.equal(model->forward(ids, mask, {}).logits));
}

TEST(BertModel, LossFollowsConfiguredProblemType) {
  BertConfig config = two_layer_config();
  config.problem_type = ProblemType::kMultiLabelClassification;
  BertForSequenceClassification model(config, 3);
  model->eval();
  at::NoGradGuard no_grad;
  const at::Tensor ids = at::randint(1, config.vocab_size, {2, 6}, at::kLong);
  // Integer multi-hot labels would mean cross-entropy by default; problem_type overrides that.
  const at::Tensor labels = at::tensor({1, 0, 1, 0, 0, 1}, at::kLong).view({2, 3});
  const SequenceClassifierOutput output = model->forward(ids, {}, {}, labels);
  const at::Tensor expected = at::binary_cross_entropy_with_logits(output.logits, labels.to(at::kFloat));
  EXPECT_NEAR(output.loss->item<double>(), expected.item<double>(), 1e-7);
}

TEST(BertModel, RejectsInputsTheModelCannotRun) {
  BertForSequenceClassification model(two_layer_config());
  const at::Tensor too_long = at::ones({1, 33}, at::kLong);
  EXPECT_THROW(model->forward(too_long, {}, {}), Error);
  EXPECT_THROW(model->forward(at::ones({1, 4}, at::kLong), at::ones({1, 5}, at::kLong), {}), Error);
  BertConfig bad = two_layer_config();
  bad.num_attention_heads = 5;
  EXPECT_THROW(BertForSequenceClassification{bad}, Error);
}

}  // namespace
}  // namespace dtrain::model
