// Forward+backward time of dtrain's BertForSequenceClassification per batch (no optimizer step), for
// the BERT-tiny/mini/base shapes; benchmarks/bert_step_pytorch.py measures PyTorch the same way.
//
// Usage: bench_bert_step_torch [SHAPE[:ITERATIONS]]...   SHAPE: tiny, mini, base (default: all three)
// Prints one line per shape: the median and min milliseconds of ITERATIONS timed steps after warm-up.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "model/bert_model.h"

namespace {

using dtrain::model::BertConfig;

constexpr int64_t kBatchSize = 32;
constexpr int64_t kSeqLength = 128;
constexpr int kThreads = 2;

struct Shape {
  std::string name;
  int64_t layers, hidden, heads, intermediate;
  int warmup, iterations;
};

const std::vector<Shape> kShapes = {
    {"tiny", 2, 128, 2, 512, 3, 20},
    {"mini", 4, 256, 4, 1024, 2, 10},
    {"base", 12, 768, 12, 3072, 1, 3},
};

BertConfig config_for(const Shape& shape) {
  BertConfig config;  // bert-base-uncased vocabulary, positions and dropout
  config.num_hidden_layers = shape.layers;
  config.hidden_size = shape.hidden;
  config.num_attention_heads = shape.heads;
  config.intermediate_size = shape.intermediate;
  return config;
}

void run(const Shape& shape, int iterations) {
  const BertConfig config = config_for(shape);
  dtrain::model::BertForSequenceClassification model(config, /*seed=*/0);
  model->train();
  const at::Tensor input_ids = at::randint(1, config.vocab_size, {kBatchSize, kSeqLength}, at::kLong);
  const at::Tensor attention_mask = at::ones({kBatchSize, kSeqLength}, at::kLong);
  const at::Tensor token_type_ids = at::zeros({kBatchSize, kSeqLength}, at::kLong);
  const at::Tensor labels = at::randint(0, config.num_labels, {kBatchSize}, at::kLong);

  std::vector<double> milliseconds;
  for (int step = 0; step < shape.warmup + iterations; ++step) {
    const auto start = std::chrono::steady_clock::now();
    model->zero_grad(/*set_to_none=*/true);
    model->forward(input_ids, attention_mask, token_type_ids, labels).loss->backward();
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    if (step >= shape.warmup) milliseconds.push_back(elapsed.count());
  }
  std::sort(milliseconds.begin(), milliseconds.end());
  fmt::print("dtrain  {:<5} batch {}x{} threads {}: median {:.1f} ms, min {:.1f} ms over {} steps\n",
             shape.name, kBatchSize, kSeqLength, at::get_num_threads(), milliseconds[milliseconds.size() / 2],
             milliseconds.front(), milliseconds.size());
}

}  // namespace

int main(int argc, char** argv) {
  at::set_num_threads(kThreads);
  std::vector<std::string> requests(argv + 1, argv + argc);
  if (requests.empty()) {
    for (const Shape& shape : kShapes) requests.push_back(shape.name);
  }
  for (const std::string& request : requests) {
    const std::string name = request.substr(0, request.find(':'));
    const auto shape =
        std::find_if(kShapes.begin(), kShapes.end(), [&](const Shape& s) { return s.name == name; });
    if (shape == kShapes.end()) {
      fmt::print(stderr, "bench_bert_step_torch: unknown shape '{}' (tiny, mini, base)\n", name);
      return 1;
    }
    const int iterations = request.find(':') == std::string::npos
                               ? shape->iterations
                               : std::stoi(request.substr(name.size() + 1));
    run(*shape, iterations);
  }
  return 0;
}
