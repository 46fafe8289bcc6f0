// Forward+backward time of dtrain's BertForSequenceClassification per batch (no optimizer step), for
// the BERT-tiny/mini/base shapes; benchmarks/bert_step_pytorch.py measures PyTorch the same way.
//
// Usage: bench_bert_step_torch [SHAPE[:ITERATIONS]]...   SHAPE: tiny, mini, base (default: all three)
// Prints one line per shape: the median and min wall milliseconds of ITERATIONS timed steps after
// warm-up, and the median process CPU milliseconds (all threads), which stays comparable when other jobs
// share the cores (run with OMP_WAIT_POLICY=PASSIVE so waiting threads do not spin).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "model/bert/bert_model.h"

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

double process_cpu_milliseconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void run(const Shape& shape, int iterations) {
  const BertConfig config = config_for(shape);
  dtrain::model::BertForSequenceClassification model(config, /*seed=*/0);
  model->train();
  const at::Tensor input_ids = at::randint(1, config.vocab_size, {kBatchSize, kSeqLength}, at::kLong);
  const at::Tensor attention_mask = at::ones({kBatchSize, kSeqLength}, at::kLong);
  const at::Tensor token_type_ids = at::zeros({kBatchSize, kSeqLength}, at::kLong);
  const at::Tensor labels = at::randint(0, config.num_labels, {kBatchSize}, at::kLong);

  std::vector<double> wall_milliseconds;
  std::vector<double> cpu_milliseconds;
  for (int step = 0; step < shape.warmup + iterations; ++step) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_milliseconds();
    model->zero_grad(/*set_to_none=*/true);
    model->forward(input_ids, attention_mask, token_type_ids, labels).loss->backward();
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    if (step < shape.warmup) continue;
    wall_milliseconds.push_back(elapsed.count());
    cpu_milliseconds.push_back(process_cpu_milliseconds() - cpu_start);
  }
  fmt::print(
      "dtrain  {:<5} batch {}x{} threads {}: median {:.1f} ms, min {:.1f} ms, cpu {:.1f} ms over {} steps\n",
      shape.name, kBatchSize, kSeqLength, at::get_num_threads(), median(wall_milliseconds),
      *std::min_element(wall_milliseconds.begin(), wall_milliseconds.end()), median(cpu_milliseconds),
      wall_milliseconds.size());
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
