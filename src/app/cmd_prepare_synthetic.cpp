// `dtrain prepare-synthetic`: write the synthetic sentence-pair task (data/synthetic_task.h) and
// prepare it, so a first training run needs no downloads.
#include <cstdio>

#include "app/commands.h"
#include "data/dataset/prepare.h"
#include "data/dataset/synthetic_task.h"

namespace dtrain::app {
namespace {

struct SyntheticArguments {
  std::string output;
  int64_t train_rows = 4000, dev_rows = 500;
  uint64_t seed = 1;
  int max_length = 64, threads = 0;
};

const RegisterCommand kPrepareSynthetic([](CLI::App& app) -> std::function<void()> {
  auto* sub = app.add_subcommand(
      "prepare-synthetic", "Write a learnable synthetic sentence-pair task and prepare it (no downloads)");
  auto arguments = std::make_shared<SyntheticArguments>();
  sub->add_option("--output", arguments->output,
                  "Folder for tokenizer/vocab.txt, train.tsv, dev.tsv, train.h5 and dev.h5")
      ->required();
  sub->add_option("--train-rows", arguments->train_rows, "Training rows")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--dev-rows", arguments->dev_rows, "Evaluation rows")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--seed", arguments->seed, "Random seed")->capture_default_str();
  sub->add_option("--max-length", arguments->max_length, "Tokens per sample")->capture_default_str();
  sub->add_option("--threads", arguments->threads, "Tokenizer threads (default: hardware threads)")
      ->check(CLI::NonNegativeNumber);
  return [arguments] {
    const std::filesystem::path folder = arguments->output;
    const data::SyntheticTaskFiles files =
        data::write_synthetic_task(folder, arguments->train_rows, arguments->dev_rows, arguments->seed);
    const auto tokenizer = data::BertTokenizer::from_folder(files.tokenizer_folder);
    for (const auto& table : {files.train, files.dev}) {
      data::PrepareOptions options;
      options.input = table;
      options.output = std::filesystem::path(table).replace_extension(".h5");
      options.text_a = "sentence1";
      options.text_b = "sentence2";
      options.label = "label";
      options.max_length = arguments->max_length;
      options.threads = arguments->threads;
      std::printf("%s\n", data::prepare_dataset(options, tokenizer).to_string().c_str());
    }
  };
});

}  // namespace
}  // namespace dtrain::app
