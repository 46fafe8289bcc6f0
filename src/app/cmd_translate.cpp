// `dtrain translate`: text lines in, translations out, in the same order. The lines are tokenized,
// sorted by length and cut into batches (little padding); under mpirun each rank generates a
// contiguous block of whole batches and rank 0 writes the output.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <numeric>

#include "app/commands.h"
#include "app/distributed_command.h"
#include "app/inference_setup.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "common/logging.h"
#include "data/loading/eval_partition.h"
#include "data/tokenizers/tokenizer.h"
#include "dist/communicator.h"
#include "dist/health_monitor.h"
#include "dist/process_group.h"
#include "dist/rank_activity.h"
#include "model/device.h"
#include "model/generation/generate.h"
#include "model/marian/marian_checkpoint.h"

namespace dtrain::app {
namespace {
namespace fs = std::filesystem;

struct TranslateOptions {
  std::string model, input, output;
  std::optional<int64_t> num_beams, max_length;
  int64_t batch_size = 32;
  int max_source_length = 512;
  dist::HealthOptions health;
};

std::vector<std::string> read_lines(const std::string& input) {
  std::vector<std::string> lines;
  std::ifstream file;
  if (input != "-") {
    file.open(input, std::ios::binary);
    DTRAIN_CHECK(file.is_open(), "{}: cannot open the file for reading", input);
  }
  std::istream& in = input == "-" ? std::cin : file;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

// Rank 0's lines on every rank (stdin reaches rank 0 only under mpirun). Lines hold no '\n', so they
// travel joined by it.
std::vector<std::string> broadcast_lines(dist::Communicator& comm, const std::vector<std::string>& lines,
                                         const c10::Device& device) {
  std::string joined;
  for (const std::string& line : lines) joined += line + "\n";
  at::Tensor size = at::full({1}, static_cast<int64_t>(joined.size()), at::kLong).to(device);
  comm.broadcast(size, 0);
  const int64_t bytes = size.to(at::kCPU).item<int64_t>();
  at::Tensor text = at::empty({bytes}, at::kByte);
  if (comm.rank() == 0) std::memcpy(text.data_ptr<uint8_t>(), joined.data(), joined.size());
  text = text.to(device);
  comm.broadcast(text, 0);
  text = text.to(at::kCPU).contiguous();
  joined.assign(reinterpret_cast<const char*>(text.data_ptr<uint8_t>()), static_cast<size_t>(bytes));
  std::vector<std::string> result;
  for (size_t begin = 0; begin < joined.size();) {
    const size_t end = joined.find('\n', begin);
    result.push_back(joined.substr(begin, end - begin));
    begin = end + 1;
  }
  return result;
}

void check_translation_model(const fs::path& folder) {
  DTRAIN_CHECK(fs::is_regular_file(folder / "config.json"), "{}: not a model folder (no config.json)",
               folder.string());
  const nlohmann::json config = nlohmann::json::parse(std::ifstream(folder / "config.json"), nullptr, false);
  const std::string model_type =
      config.is_object() && config.contains("model_type") && config["model_type"].is_string()
          ? config["model_type"].get<std::string>()
          : "";
  DTRAIN_CHECK(model_type == "marian",
               "{}: not a translation model (config.json model_type '{}'; dtrain translates "
               "with Marian models)",
               folder.string(), model_type);
  DTRAIN_CHECK(data::is_tokenizer_folder(folder),
               "{}: no tokenizer files (source.spm, target.spm, vocab.json) next to the model",
               folder.string());
}

void run_translate(const TranslateOptions& options, const dist::ProcessGroup& group) {
  configure_logging(group.rank(), group.size());
  dist::HealthMonitor monitor(group, options.health);
  const fs::path folder = options.model;
  check_translation_model(folder);
  if (options.output != "-") {
    const auto output_folder = fs::absolute(options.output).parent_path();
    DTRAIN_CHECK(fs::is_directory(output_folder), "cannot write {}: folder {} does not exist", options.output,
                 output_folder.string());
  }
  const auto tokenizer = data::load_tokenizer(folder);
  model::MarianMTModel model = model::load_marian_mt_model(folder);
  const c10::Device device = model::select_device(group.local_rank(), group.local_size());
  model->to(device);
  model->eval();
  const auto comm = dist::make_communicator(group, device);
  dist::RankActivity::process().set_phase(dist::WorkPhase::kEvaluation);

  model::GenerationConfig generation = model->generation_config();
  if (options.num_beams) generation.num_beams = *options.num_beams;
  if (options.max_length) generation.max_length = *options.max_length;

  // Every rank reads and tokenizes all lines (cheap next to generation), so the order is known
  // everywhere; stdin is read by rank 0 only and broadcast.
  std::vector<std::string> lines;
  if (options.input != "-" || group.rank() == 0) lines = read_lines(options.input);
  if (options.input == "-") lines = broadcast_lines(*comm, lines, device);
  std::vector<std::vector<int32_t>> sources(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    try {
      sources[i] = tokenizer->encode(lines[i], options.max_source_length);
    } catch (const Error& error) {
      DTRAIN_FAIL("{}:{}: {}", options.input == "-" ? "stdin" : options.input, i + 1, error.what());
    }
  }
  // Longest first: the batch that needs the most memory runs first, and batches hold lines of
  // similar length (stable, so equal lengths keep their input order).
  std::vector<int64_t> order(lines.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return sources[a].size() > sources[b].size(); });

  const data::IndexRange block = data::eval_partition(static_cast<int64_t>(lines.size()), options.batch_size,
                                                      group.rank(), group.size());
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> payload{0};  // row count, then per row: length, ids
  c10::InferenceMode inference;
  int64_t done = 0;
  for (const data::IndexRange& batch : data::eval_batches(block, options.batch_size)) {
    const int64_t rows = batch.size();
    int64_t longest = 0;
    for (int64_t r = 0; r < rows; ++r)
      longest = std::max<int64_t>(longest, sources[order[batch.begin + r]].size());
    at::Tensor input_ids = at::full({rows, longest}, tokenizer->special_ids().pad, at::kLong);
    at::Tensor attention_mask = at::zeros({rows, longest}, at::kLong);
    for (int64_t r = 0; r < rows; ++r) {
      const auto& ids = sources[order[batch.begin + r]];
      for (size_t t = 0; t < ids.size(); ++t) {
        input_ids[r][static_cast<int64_t>(t)] = ids[t];
        attention_mask[r][static_cast<int64_t>(t)] = 1;
      }
    }
    const at::Tensor generated =
        model::generate(*model, input_ids.to(device), attention_mask.to(device), generation)
            .to(at::kCPU)
            .contiguous();
    const int64_t length = generated.size(1);
    const int64_t* values = generated.data_ptr<int64_t>();
    for (int64_t r = 0; r < rows; ++r) {
      payload.push_back(static_cast<double>(length));
      payload.insert(payload.end(), values + r * length, values + (r + 1) * length);
    }
    payload[0] += static_cast<double>(rows);
    done += rows;
    dist::RankActivity::process().mark_progress();
    if (group.rank() == 0) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      spdlog::info("translate: {}/{} lines of rank 0's {} ({:.1f} lines/s)", done, block.size(), block.size(),
                   done / std::max(seconds, 1e-9));
    }
  }

  const std::vector<double> sizes = comm->all_gather({static_cast<double>(payload.size())});
  const auto longest_payload = static_cast<size_t>(*std::max_element(sizes.begin(), sizes.end()));
  payload.resize(longest_payload, 0.0);
  const std::vector<double> gathered = comm->gather(payload, 0);
  if (group.rank() != 0) return;

  std::vector<std::string> translations(lines.size());
  size_t position = 0;  // in `order`: blocks arrive in rank order, which is the sorted order
  for (int r = 0; r < group.size(); ++r) {
    const double* at = gathered.data() + static_cast<size_t>(r) * longest_payload;
    const auto count = static_cast<int64_t>(at[0]);
    ++at;
    for (int64_t row = 0; row < count; ++row, ++position) {
      const auto length = static_cast<int64_t>(at[0]);
      translations[order[position]] = tokenizer->decode(std::vector<int32_t>(at + 1, at + 1 + length), true);
      at += 1 + length;
    }
  }
  std::string text;
  for (const std::string& translation : translations) text += translation + "\n";
  if (options.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  } else {
    write_text_atomically(options.output, text);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("translate: {} lines in {:.2f} s ({:.1f} lines/s) on {} rank(s)", lines.size(), seconds,
               lines.size() / std::max(seconds, 1e-9), group.size());
}

const RegisterCommand kTranslate([](CLI::App& app) -> std::function<void()> {
  auto* sub = app.add_subcommand("translate", "Translate text lines with a Marian model folder");
  auto options = std::make_shared<TranslateOptions>();
  sub->add_option("--model", options->model,
                  "Translation model folder (config.json, model.safetensors, tokenizer)")
      ->required();
  sub->add_option("--input", options->input, "Text, one sentence per line ('-': stdin)")->required();
  sub->add_option("--output", options->output, "Translations, one per line in input order ('-': stdout)")
      ->required();
  sub->add_option("--num-beams", options->num_beams, "Beams (default: the model's generation_config.json)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--max-length", options->max_length,
                  "Longest translation in tokens, decoder start included (default: the model's)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  sub->add_option("--batch-size", options->batch_size, "Lines per generate() call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--max-source-length", options->max_source_length, "Longer lines are truncated (tokens)")
      ->check(CLI::Range(2, 1 << 20))
      ->capture_default_str();
  add_health_options(*sub, options->health);
  return [options] {
    run_distributed([&](const dist::ProcessGroup& group) { run_translate(*options, group); });
  };
});

}  // namespace
}  // namespace dtrain::app
