#include <gtest/gtest.h>

#include <cmath>

#include "metrics/glue_metrics.h"

namespace dtrain::metrics {
namespace {

TEST(Metrics, AccuracyAndBinaryF1) {
  const std::vector<int64_t> labels{1, 1, 1, 0, 0, 1};
  const std::vector<int64_t> predicted{1, 0, 1, 1, 0, 1};
  EXPECT_DOUBLE_EQ(accuracy(predicted, labels), 4.0 / 6.0);
  // tp=3, fp=1, fn=1 -> 2*3 / (4 + 4)
  EXPECT_DOUBLE_EQ(f1_score(predicted, labels, 2), 0.75);
}

TEST(Metrics, F1WithNoPositiveClassIsZeroNotNan) {
  const std::vector<int64_t> zeros{0, 0, 0};
  EXPECT_DOUBLE_EQ(f1_score(zeros, zeros, 2), 0.0);
  EXPECT_DOUBLE_EQ(accuracy(zeros, zeros), 1.0);
}

TEST(Metrics, MacroF1MatchesScikitLearnExample) {
  // scikit-learn's f1_score documentation: average='macro' gives 0.2666...
  EXPECT_NEAR(f1_score({0, 2, 1, 0, 0, 1}, {0, 1, 2, 0, 1, 2}, 3), 0.26666666666666666, 1e-15);
}

TEST(Metrics, MatthewsCorrelation) {
  // tp=2 fn=1 fp=1 tn=0: (0*2 - 1*1) / sqrt(3*3*1*1)
  EXPECT_NEAR(matthews_correlation({1, 0, 1, 1}, {1, 1, 1, 0}, 2), -1.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(matthews_correlation({1, 1, 1, 1}, {1, 0, 1, 0}, 2), 0.0);  // constant predictions
  EXPECT_DOUBLE_EQ(matthews_correlation({0, 0}, {0, 0}, 2), 0.0);              // one class only
  EXPECT_DOUBLE_EQ(matthews_correlation({0, 1, 0, 1}, {0, 1, 0, 1}, 2), 1.0);
  // Multi-class (Gorodkin): c=5, s=6, sum(p*t)=12, sum(p^2)=14, sum(t^2)=12 -> 18 / sqrt(22*24)
  EXPECT_NEAR(matthews_correlation({0, 0, 1, 2, 2, 2}, {0, 0, 1, 1, 2, 2}, 3), 18.0 / std::sqrt(528.0),
              1e-15);
}

TEST(Metrics, PearsonAndSpearmanWithTies) {
  EXPECT_NEAR(pearson_correlation({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5}), 6.0 / std::sqrt(60.0), 1e-15);
  // Ranks of x with a tie: 1, 2.5, 2.5, 4.
  EXPECT_NEAR(spearman_correlation({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(22.5), 1e-15);
  EXPECT_NEAR(spearman_correlation({10, 20, 30}, {1, 5, 100}), 1.0, 1e-15);  // monotone, not linear
  EXPECT_TRUE(std::isnan(pearson_correlation({1, 1, 1}, {1, 2, 3})));        // constant input
}

TEST(Metrics, GlueTaskSelection) {
  EXPECT_EQ(metrics_for_task("mrpc", false), (std::vector<std::string>{"accuracy", "f1"}));
  EXPECT_EQ(metrics_for_task("cola", false), (std::vector<std::string>{"matthews_correlation"}));
  EXPECT_EQ(metrics_for_task("stsb", true), (std::vector<std::string>{"pearson", "spearmanr"}));
  EXPECT_EQ(metrics_for_task("sst2", false), (std::vector<std::string>{"accuracy"}));
  EXPECT_EQ(metrics_for_task("", true), (std::vector<std::string>{"pearson", "spearmanr"}));
  const auto results = compute_metrics({"accuracy", "f1"}, {1, 0, 1}, {1, 1, 1}, 2);
  EXPECT_DOUBLE_EQ(results.at("accuracy"), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(results.at("f1"), 0.8);
}

}  // namespace
}  // namespace dtrain::metrics
