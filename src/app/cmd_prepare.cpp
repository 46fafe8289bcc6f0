// `dtrain prepare`: tokenize a text table into an HDF5 dataset (see data/prepare.h), or parallel text
// into a translation dataset (data/prepare_translation.h).
#include <cstdio>

#include "app/commands.h"
#include "common/error.h"
#include "data/dataset/prepare.h"
#include "data/dataset/prepare_translation.h"

namespace dtrain::app {
namespace {

struct PrepareArguments {
  data::PrepareOptions options;
  data::TranslationPrepareOptions translation;
  std::string tokenizer_folder, input, output, format, task = "classification";
  std::string text_a, text_b, label;
  std::string source_file, target_file, source_column, target_column;
};

void run_translation(const PrepareArguments& arguments) {
  DTRAIN_CHECK(arguments.text_a.empty() && arguments.text_b.empty() && arguments.label.empty(),
               "--task translation takes --source and --target (or --source-file and --target-file), not "
               "--text-a, --text-b or --label");
  data::TranslationPrepareOptions options = arguments.translation;
  options.source_file = arguments.source_file;
  options.target_file = arguments.target_file;
  options.input = arguments.input;
  options.source_column = arguments.source_column;
  options.target_column = arguments.target_column;
  options.output = arguments.output;
  options.has_header = arguments.options.has_header;
  options.threads = arguments.options.threads;
  if (!arguments.format.empty()) options.format = data::parse_table_format(arguments.format);
  const auto tokenizer = data::load_tokenizer(arguments.tokenizer_folder);
  std::printf("%s\n", data::prepare_translation_dataset(options, *tokenizer).to_string().c_str());
}

void run_classification(const PrepareArguments& arguments) {
  DTRAIN_CHECK(arguments.source_file.empty() && arguments.target_file.empty() &&
                   arguments.source_column.empty() && arguments.target_column.empty(),
               "--source, --target, --source-file and --target-file are for --task translation");
  DTRAIN_CHECK(!arguments.input.empty(), "--input is required");
  DTRAIN_CHECK(!arguments.text_a.empty(), "--text-a is required");
  DTRAIN_CHECK(!arguments.label.empty(), "--label is required");
  data::PrepareOptions options = arguments.options;
  options.input = arguments.input;
  options.output = arguments.output;
  options.text_a = arguments.text_a;
  options.label = arguments.label;
  if (!arguments.format.empty()) options.format = data::parse_table_format(arguments.format);
  if (!arguments.text_b.empty()) options.text_b = arguments.text_b;
  options.task = data::parse_task(arguments.task);
  const auto tokenizer = data::BertTokenizer::from_folder(arguments.tokenizer_folder);
  std::printf("%s\n", data::prepare_dataset(options, tokenizer).to_string().c_str());
}

const RegisterCommand kPrepare([](CLI::App& app) -> std::function<void()> {
  auto* sub =
      app.add_subcommand("prepare", "Tokenize a TSV/CSV/JSONL table or parallel text into an HDF5 dataset");
  auto arguments = std::make_shared<PrepareArguments>();
  data::PrepareOptions& options = arguments->options;
  sub->add_option(
         "--tokenizer", arguments->tokenizer_folder,
         "Tokenizer folder (BERT: vocab.txt; translation: Marian source.spm, target.spm, vocab.json)")
      ->required();
  sub->add_option("--input", arguments->input, "Text table to read");
  sub->add_option("--output", arguments->output, "HDF5 file to write")->required();
  sub->add_option("--format", arguments->format, "Table format (default: from the input's extension)")
      ->check(CLI::IsMember({"tsv", "csv", "jsonl"}));
  sub->add_flag(
      "--no-header", [&options](int64_t) { options.has_header = false; },
      "TSV/CSV: the first row is data; columns are then 0-based indices");
  sub->add_option("--text-a", arguments->text_a, "Column of the first text (header name, JSON key or index)");
  sub->add_option("--text-b", arguments->text_b, "Column of the second text, for sentence pairs");
  sub->add_option("--label", arguments->label, "Column of the label");
  sub->add_option("--labels", options.label_names, "Class names in id order, e.g. entailment,not_entailment")
      ->delimiter(',');
  sub->add_option("--task", arguments->task, "classification, regression or translation")
      ->capture_default_str()
      ->check(CLI::IsMember({"classification", "regression", "translation"}));
  sub->add_option("--max-length", options.max_length, "Tokens per sample, special tokens included")
      ->capture_default_str();
  sub->add_option("--source-file", arguments->source_file,
                  "Translation: source sentences, one per line (parallel to --target-file)");
  sub->add_option("--target-file", arguments->target_file, "Translation: target sentences, one per line");
  sub->add_option("--source", arguments->source_column,
                  "Translation with --input: source column (JSON Lines: key such as translation.en)");
  sub->add_option("--target", arguments->target_column, "Translation with --input: target column");
  sub->add_option("--max-source-length", arguments->translation.max_source_length,
                  "Translation: source tokens per sample, EOS included")
      ->capture_default_str();
  sub->add_option("--max-target-length", arguments->translation.max_target_length,
                  "Translation: target tokens per sample, EOS included")
      ->capture_default_str();
  sub->add_option("--threads", options.threads, "Tokenizer threads (default: hardware threads)")
      ->check(CLI::NonNegativeNumber);
  return [arguments] {
    if (arguments->task == "translation") {
      run_translation(*arguments);
    } else {
      run_classification(*arguments);
    }
  };
});

}  // namespace
}  // namespace dtrain::app
