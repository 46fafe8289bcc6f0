// `dtrain train-tokenizer`: train a tokenizer from scratch on a corpus (data/tokenizers/marian_training.h).
#include <cstdio>

#include "app/commands.h"
#include "data/tokenizers/marian_training.h"

namespace dtrain::app {
namespace {

struct TrainTokenizerArguments {
  data::MarianTrainingOptions options;
  std::string type, source, target, output, source_lang, target_lang;
};

const RegisterCommand kTrainTokenizer([](CLI::App& app) -> std::function<void()> {
  auto* sub = app.add_subcommand("train-tokenizer",
                                 "Train a Marian (SentencePiece) tokenizer folder on a parallel corpus");
  auto arguments = std::make_shared<TrainTokenizerArguments>();
  data::MarianTrainingOptions& options = arguments->options;
  sub->add_option("--type", arguments->type, "Tokenizer type")->required()->check(CLI::IsMember({"marian"}));
  sub->add_option("--source", arguments->source, "Source-language text, one sentence per line")->required();
  sub->add_option("--target", arguments->target, "Target-language text, one sentence per line")->required();
  sub->add_option("--vocab-size", options.vocab_size, "Pieces of each SentencePiece model")->required();
  sub->add_option("--output", arguments->output, "Tokenizer folder to write")->required();
  sub->add_flag("--separate-vocabs", options.separate_vocabs,
                "Source and target get vocabularies of their own (default: one shared, as opus-mt)");
  sub->add_option("--model-type", options.model_type, "SentencePiece model: unigram, bpe, char or word")
      ->capture_default_str();
  sub->add_option("--character-coverage", options.character_coverage,
                  "Share of the characters that get pieces of their own")
      ->capture_default_str();
  sub->add_option("--normalization", options.normalization,
                  "SentencePiece normalization: nmt_nfkc, nfkc, nmt_nfkc_cf, nfkc_cf or identity")
      ->capture_default_str();
  sub->add_option("--sample", options.sample_lines, "Train on this many lines drawn at random (0: all)")
      ->capture_default_str();
  sub->add_option("--max-line-bytes", options.max_line_bytes, "Longer lines are left out of training")
      ->capture_default_str();
  sub->add_option("--seed", options.seed, "Seed of the line sample")->capture_default_str();
  sub->add_option("--threads", options.threads, "Trainer threads (the models depend on it)")
      ->capture_default_str();
  sub->add_option("--source-lang", arguments->source_lang,
                  "Source language code, e.g. en (tokenizer_config.json)");
  sub->add_option("--target-lang", arguments->target_lang,
                  "Target language code, e.g. fr (tokenizer_config.json)");
  sub->add_flag("--overwrite", options.overwrite, "Replace an existing output folder");
  sub->add_flag("--verbose", options.verbose, "Show SentencePiece's training log");
  return [arguments] {
    data::MarianTrainingOptions options = arguments->options;
    options.source_file = arguments->source;
    options.target_file = arguments->target;
    options.output = arguments->output;
    if (!arguments->source_lang.empty()) options.source_lang = arguments->source_lang;
    if (!arguments->target_lang.empty()) options.target_lang = arguments->target_lang;
    std::printf("%s\n", data::train_marian_tokenizer(options).to_string().c_str());
  };
});

}  // namespace
}  // namespace dtrain::app
