// Training FLOPs from the model's shapes against torch.utils.flop_counter.FlopCounterMode counting a
// real forward+backward of transformers' BertForSequenceClassification (tests/reference/training_flops.py).
#include "model/bert/bert_flops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace dtrain::model {
namespace {

struct Case {
  nlohmann::json config;
  int64_t num_labels;
  std::vector<int64_t> lengths;
};

// FlopCounterMode's counts for every case, from one Python process.
nlohmann::json reference_flops(const std::vector<Case>& cases) {
  nlohmann::json spec = nlohmann::json::array();
  for (const Case& c : cases)
    spec.push_back({{"config", c.config}, {"num_labels", c.num_labels}, {"lengths", c.lengths}});
  const std::string command = dtrain::testing::python() + " " +
                              (dtrain::testing::source_dir() / "tests/reference/training_flops.py").string() +
                              " '" + spec.dump() + "'";
  const auto result = dtrain::testing::run_command(command);
  EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
  return nlohmann::json::parse(result.output.substr(result.output.rfind('[')));
}

TEST(TrainingFlops, EqualTorchsFlopCounterOnTransformersBert) {
  DTRAIN_REQUIRE_PYTHON("transformers");
  const std::vector<Case> cases = {
      {{{"vocab_size", 100},
        {"hidden_size", 48},
        {"num_hidden_layers", 2},
        {"num_attention_heads", 4},
        {"intermediate_size", 80},
        {"max_position_embeddings", 64}},
       3,
       {5, 9, 12}},
      // all-MiniLM-L6-v2's shapes (the vocabulary does not count), MRPC-like lengths
      {{{"vocab_size", 1000},
        {"hidden_size", 384},
        {"num_hidden_layers", 6},
        {"num_attention_heads", 12},
        {"intermediate_size", 1536},
        {"max_position_embeddings", 512}},
       2,
       {31, 53, 87, 60}},
  };
  const nlohmann::json expected = reference_flops(cases);
  ASSERT_EQ(expected.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    model::BertConfig config = model::BertConfig::from_json(cases[i].config, "case");
    config.set_num_labels(cases[i].num_labels);
    const auto& lengths = cases[i].lengths;
    const TrainingFlops ours =
        training_flops(config, lengths, *std::max_element(lengths.begin(), lengths.end()));
    EXPECT_EQ(ours.padded, expected[i]["padded"].get<double>()) << cases[i].config.dump();
    EXPECT_EQ(ours.real, expected[i]["real"].get<double>()) << cases[i].config.dump();
  }
}

TEST(TrainingFlops, ReadsTheLengthsFromACollatedBatchsMask) {
  model::BertConfig config;  // bert-base shapes
  data::Batch batch;
  batch.batch_size = 3, batch.seq_len = 6;
  batch.attention_mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0};
  const TrainingFlops from_batch = training_flops(config, batch);
  const TrainingFlops from_lengths = training_flops(config, std::vector<int64_t>{6, 2, 4}, 6);
  EXPECT_EQ(from_batch.real, from_lengths.real);
  EXPECT_EQ(from_batch.padded, from_lengths.padded);
  // Padding costs: the padded count is that of three full-length samples.
  EXPECT_EQ(from_batch.padded, training_flops(config, std::vector<int64_t>{6, 6, 6}, 6).real);
  EXPECT_LT(from_batch.real, from_batch.padded);
}

}  // namespace
}  // namespace dtrain::model
