// `dtrain evaluate` and `dtrain predict` under mpirun: metrics bit-identical at 1, 2 and 3 ranks,
// and equal to metrics computed independently (numpy) from predict's logits.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/test_support.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;

class EvaluateRanks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir("dtrain-evaluate-ranks");
    const fs::path dir = scratch_->path();
    // 37 dev samples in batches of 4: neither divides evenly over 2 or 3 ranks.
    auto made = run_command(dtrain::testing::dtrain_binary().string() + " prepare-synthetic --output " +
                            (dir / "synth").string() + " --train-rows 400 --dev-rows 37");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::ofstream(dir / "config.yaml") << R"(
model:
  config: {vocab_size: 505, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2,
           intermediate_size: 64, max_position_embeddings: 64}
training: {learning_rate: 3.0e-3, max_steps: 40, per_device_train_batch_size: 16, disable_tqdm: true}
)";
    // A partly trained model, so that predictions (and F1, MCC) are not trivial.
    auto trained =
        run_command(dtrain::testing::mpirun_dtrain(1) + " train --config " + (dir / "config.yaml").string() +
                    " --data.train_file " + (dir / "synth/train.h5").string() + " --output_dir " +
                    (dir / "model").string());
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
  }
  static void TearDownTestSuite() { delete scratch_; }

  static nlohmann::json evaluate(int ranks) {
    const fs::path dir = scratch_->path();
    auto result = run_command(dtrain::testing::mpirun_dtrain(ranks) + " evaluate --model " +
                              (dir / "model").string() + " --data " + (dir / "synth/dev.h5").string() +
                              " --batch-size 4 --task-name mrpc 2>/dev/null");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return nlohmann::json::parse(result.output);
  }

  static ScratchDir* scratch_;
};
ScratchDir* EvaluateRanks::scratch_ = nullptr;

TEST_F(EvaluateRanks, MetricsAreBitIdenticalOnOneTwoAndThreeRanks) {
  const auto one = evaluate(1);
  EXPECT_EQ(one["eval_samples"], 37);
  for (int ranks : {2, 3}) {
    const auto many = evaluate(ranks);
    for (const char* key : {"eval_loss", "eval_accuracy", "eval_f1", "eval_samples"}) {
      // Compared as JSON numbers: equal only if every bit of the double is.
      EXPECT_EQ(many[key], one[key]) << key << " at " << ranks << " ranks";
    }
  }
}

TEST_F(EvaluateRanks, MetricsEqualThoseComputedIndependentlyFromPredictLogits) {
  const fs::path dir = scratch_->path();
  auto predicted = run_command(dtrain::testing::mpirun_dtrain(3) + " predict --model " +
                               (dir / "model").string() + " --data " + (dir / "synth/dev.h5").string() +
                               " --batch-size 4 --output " + (dir / "logits.h5").string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  // Accuracy, binary F1 of class 1 and the mean cross-entropy, from the file alone with numpy.
  const std::string script = R"(
import h5py, json, numpy as np, sys
f = h5py.File(sys.argv[1], 'r')
logits, labels = f['logits'][:].astype(np.float64), f['labels'][:]
pred = logits.argmax(1)
tp = int(((pred == 1) & (labels == 1)).sum()); fp = int(((pred == 1) & (labels == 0)).sum()); fn = int(((pred == 0) & (labels == 1)).sum())
m = logits.max(1)
loss = float(np.mean(m + np.log(np.exp(logits - m[:, None]).sum(1)) - logits[np.arange(len(labels)), labels]))
print(json.dumps({'eval_accuracy': float((pred == labels).mean()), 'eval_f1': 2 * tp / (2 * tp + fp + fn), 'eval_loss': loss, 'rows': len(labels)}))
)";
  dtrain::testing::write_file(dir / "metrics.py", script);
  auto computed = run_command(dtrain::testing::python() + " " + (dir / "metrics.py").string() + " " +
                              (dir / "logits.h5").string());
  ASSERT_EQ(computed.exit_code, 0) << computed.output;
  const auto expected = nlohmann::json::parse(computed.output);
  const auto metrics = evaluate(2);
  EXPECT_EQ(expected["rows"], 37);
  EXPECT_DOUBLE_EQ(metrics["eval_accuracy"].get<double>(), expected["eval_accuracy"].get<double>());
  EXPECT_DOUBLE_EQ(metrics["eval_f1"].get<double>(), expected["eval_f1"].get<double>());
  EXPECT_NEAR(metrics["eval_loss"].get<double>(), expected["eval_loss"].get<double>(), 1e-12);
}

}  // namespace
}  // namespace dtrain::train
