// Translation throughput of dtrain's generate() on MarianMTModel; benchmarks/marian_generate_anchor.py
// measures transformers' generate() on the same folder and inputs, and benchmarks/marian_generate.sh
// runs both interleaved and writes the table.
//
// Usage:
//   bench_marian_generate_torch prepare DIR SHAPE   SHAPE: small | opus (opus-mt-en-fr's shapes)
//       writes a random model DIR/model and DIR/inputs: 64 sources of 4-40 tokens (int64 files +
//       manifest.json), in 4 batches of 16. A random model repeats one token and never ends, so every
//       output is cut at 32 new tokens (max_new_tokens, the last one a forced eos)
//   bench_marian_generate_torch run DIR MODE THREADS   MODE: greedy | beam4
//       translates the inputs batch by batch with MODE (num_beams 1 or 4; opus-mt's other generation
//       settings: bad_words_ids [[pad]], forced_eos_token_id, renormalize_logits), after
//       one untimed warm-up batch, and prints one JSON line: seconds, sentences/s, generated tokens/s.
//       Writes the outputs to DIR/dtrain-MODE.bin so the driver can check they equal transformers'.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "model/generation/generate.h"
#include "model/marian/marian_checkpoint.h"

namespace {

namespace fs = std::filesystem;
using dtrain::model::GenerationConfig;
using dtrain::model::MarianConfig;
using nlohmann::json;

constexpr int64_t kSentences = 64;
constexpr int64_t kBatchSize = 16;
constexpr int64_t kEos = 0;
constexpr int64_t kNewTokens = 32;

MarianConfig config_for(const std::string& shape) {
  MarianConfig config;
  if (shape == "opus") {
    config.vocab_size = 59514;
    config.d_model = 512;
    config.encoder_layers = config.decoder_layers = 6;
    config.encoder_attention_heads = config.decoder_attention_heads = 8;
    config.encoder_ffn_dim = config.decoder_ffn_dim = 2048;
  } else if (shape == "small") {
    config.vocab_size = 8000;
    config.d_model = 128;
    config.encoder_layers = config.decoder_layers = 2;
    config.encoder_attention_heads = config.decoder_attention_heads = 4;
    config.encoder_ffn_dim = config.decoder_ffn_dim = 512;
  } else {
    throw std::runtime_error("unknown shape " + shape + " (small or opus)");
  }
  config.max_position_embeddings = 512;
  config.activation_function = "swish";
  config.scale_embedding = true;
  config.pad_token_id = config.decoder_start_token_id = config.vocab_size - 1;
  config.validate();
  return config;
}

void write_raw(const fs::path& path, const at::Tensor& tensor) {
  const at::Tensor data = tensor.contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
}

at::Tensor read_raw(const fs::path& path, at::IntArrayRef shape) {
  at::Tensor tensor = at::empty(shape, at::kLong);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(tensor.nbytes()));
  if (!in) throw std::runtime_error("short read from " + path.string());
  return tensor;
}

void prepare(const fs::path& dir, const std::string& shape) {
  const MarianConfig config = config_for(shape);
  at::Generator generator = at::detail::createCPUGenerator(7);
  dtrain::model::MarianMTModel model(config, /*seed=*/1);
  {
    at::NoGradGuard no_grad;
    for (auto& parameter : model->parameters())
      parameter.add_(at::randn(parameter.sizes(), generator, at::kFloat) * 0.1);
    at::Tensor bias = model->final_logits_bias();
    bias.copy_(at::randn(bias.sizes(), generator, at::kFloat));
  }
  GenerationConfig generation = model->generation_config();
  generation.bad_words_ids = std::vector<std::vector<int64_t>>{{config.pad_token_id}};
  generation.max_new_tokens = kNewTokens;
  generation.renormalize_logits = true;
  model->set_generation_config(generation);
  dtrain::model::save_marian_mt_model(*model, dir / "model");

  const at::Tensor lengths = at::randint(4, 41, {kSentences}, generator, at::kLong);
  const int64_t longest = lengths.max().item<int64_t>();
  at::Tensor input_ids = at::randint(1, config.vocab_size - 1, {kSentences, longest}, generator, at::kLong);
  at::Tensor attention_mask = at::zeros({kSentences, longest}, at::kLong);
  for (int64_t row = 0; row < kSentences; ++row) {
    const int64_t length = lengths[row].item<int64_t>();
    input_ids[row][length - 1] = kEos;
    input_ids[row].narrow(0, length, longest - length).fill_(config.pad_token_id);
    attention_mask[row].narrow(0, 0, length).fill_(1);
  }
  fs::create_directories(dir / "inputs");
  write_raw(dir / "inputs/input_ids.bin", input_ids);
  write_raw(dir / "inputs/attention_mask.bin", attention_mask);
  const json manifest = {{"input_ids", {{"dtype", "<i8"}, {"shape", {kSentences, longest}}}},
                         {"attention_mask", {{"dtype", "<i8"}, {"shape", {kSentences, longest}}}},
                         {"batch_size", kBatchSize}};
  std::ofstream(dir / "inputs/manifest.json") << manifest.dump();
}

// Tokens generated after the start token, up to and including eos (padding excluded).
int64_t generated_tokens(const at::Tensor& sequences, int64_t pad_token_id) {
  return sequences.narrow(1, 1, sequences.size(1) - 1).ne(pad_token_id).sum().item<int64_t>();
}

void run(const fs::path& dir, const std::string& mode, int threads) {
  at::set_num_threads(threads);
  at::set_num_interop_threads(1);
  dtrain::model::MarianMTModel model = dtrain::model::load_marian_mt_model(dir / "model");
  model->eval();
  GenerationConfig generation = model->generation_config();
  generation.num_beams = mode == "beam4" ? 4 : 1;
  std::ifstream manifest_file(dir / "inputs/manifest.json");
  const json manifest = json::parse(manifest_file);
  const std::vector<int64_t> shape = manifest.at("input_ids").at("shape");
  const at::Tensor input_ids = read_raw(dir / "inputs/input_ids.bin", shape);
  const at::Tensor attention_mask = read_raw(dir / "inputs/attention_mask.bin", shape);
  const int64_t batch_size = manifest.at("batch_size");

  const auto translate = [&](int64_t start) {
    // Each batch is cut to its own longest source, as a collator pads it.
    const at::Tensor mask = attention_mask.narrow(0, start, batch_size);
    const int64_t longest = mask.sum(1).max().item<int64_t>();
    return dtrain::model::generate(*model, input_ids.narrow(0, start, batch_size).narrow(1, 0, longest),
                                   mask.narrow(1, 0, longest), generation);
  };
  translate(0);  // warm-up
  int64_t tokens = 0;
  std::vector<at::Tensor> outputs;
  const auto begin = std::chrono::steady_clock::now();
  for (int64_t start = 0; start < shape[0]; start += batch_size) {
    outputs.push_back(translate(start));
    tokens += generated_tokens(outputs.back(), model->config().pad_token_id);
  }
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - begin;
  // Outputs of all batches, each padded to 512 columns, for the equality check.
  at::Tensor all = at::full({shape[0], 512}, model->config().pad_token_id, at::kLong);
  for (size_t batch = 0; batch < outputs.size(); ++batch)
    all.narrow(0, static_cast<int64_t>(batch) * batch_size, batch_size)
        .narrow(1, 0, outputs[batch].size(1))
        .copy_(outputs[batch]);
  write_raw(dir / fmt::format("dtrain-{}.bin", mode), all);
  fmt::print("{}\n", json{{"side", "dtrain"},
                          {"mode", mode},
                          {"threads", threads},
                          {"seconds", seconds.count()},
                          {"sentences_per_second", static_cast<double>(shape[0]) / seconds.count()},
                          {"tokens_per_second", static_cast<double>(tokens) / seconds.count()},
                          {"generated_tokens", tokens}}
                         .dump());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "prepare" && argc == 4) {
      prepare(argv[2], argv[3]);
    } else if (command == "run" && argc == 5) {
      run(argv[2], argv[3], std::stoi(argv[4]));
    } else {
      fmt::print(stderr, "usage: {} prepare DIR small|opus | run DIR greedy|beam4 THREADS\n", argv[0]);
      return 2;
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "bench_marian_generate_torch: {}\n", error.what());
    return 1;
  }
  return 0;
}
