// `dtrain prepare`: tokenize a text table into an HDF5 dataset (see data/prepare.h).
#include <cstdio>

#include "app/commands.h"
#include "data/dataset/prepare.h"

namespace dtrain::app {
namespace {

struct PrepareArguments {
  data::PrepareOptions options;
  std::string tokenizer_folder, input, output, format, task = "classification";
  std::string text_b;
};

const RegisterCommand kPrepare([](CLI::App& app) -> std::function<void()> {
  auto* sub = app.add_subcommand("prepare", "Tokenize a TSV/CSV/JSONL table into an HDF5 dataset");
  auto arguments = std::make_shared<PrepareArguments>();
  data::PrepareOptions& options = arguments->options;
  sub->add_option("--tokenizer", arguments->tokenizer_folder,
                  "Tokenizer folder (vocab.txt, tokenizer_config.json)")
      ->required();
  sub->add_option("--input", arguments->input, "Text table to read")->required();
  sub->add_option("--output", arguments->output, "HDF5 file to write")->required();
  sub->add_option("--format", arguments->format, "Table format (default: from the input's extension)")
      ->check(CLI::IsMember({"tsv", "csv", "jsonl"}));
  sub->add_flag(
      "--no-header", [&options](int64_t) { options.has_header = false; },
      "TSV/CSV: the first row is data; columns are then 0-based indices");
  sub->add_option("--text-a", options.text_a, "Column of the first text (header name, JSON key or index)")
      ->required();
  sub->add_option("--text-b", arguments->text_b, "Column of the second text, for sentence pairs");
  sub->add_option("--label", options.label, "Column of the label")->required();
  sub->add_option("--labels", options.label_names, "Class names in id order, e.g. entailment,not_entailment")
      ->delimiter(',');
  sub->add_option("--task", arguments->task, "classification or regression")
      ->capture_default_str()
      ->check(CLI::IsMember({"classification", "regression"}));
  sub->add_option("--max-length", options.max_length, "Tokens per sample, special tokens included")
      ->capture_default_str();
  sub->add_option("--threads", options.threads, "Tokenizer threads (default: hardware threads)")
      ->check(CLI::NonNegativeNumber);
  return [arguments] {
    data::PrepareOptions options = arguments->options;
    options.input = arguments->input;
    options.output = arguments->output;
    if (!arguments->format.empty()) options.format = data::parse_table_format(arguments->format);
    if (!arguments->text_b.empty()) options.text_b = arguments->text_b;
    options.task = data::parse_task(arguments->task);
    const auto tokenizer = data::BertTokenizer::from_folder(arguments->tokenizer_folder);
    std::printf("%s\n", data::prepare_dataset(options, tokenizer).to_string().c_str());
  };
});

}  // namespace
}  // namespace dtrain::app
