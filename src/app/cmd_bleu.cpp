// `dtrain bleu --hyp FILE --ref FILE [--ref FILE ...]`: corpus BLEU (and chrF) of a translation
// file, printed as the `sacrebleu` command prints them: with --format text, `sacrebleu REF -i HYP
// -f text`'s lines; with --format json, its default JSON.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.h"
#include "common/error.h"
#include "metrics/bleu.h"
#include "metrics/chrf.h"
#include "metrics/segments_file.h"

namespace dtrain::app {
namespace {

struct BleuCommandOptions {
  std::string hypotheses;
  std::vector<std::string> references;
  std::vector<std::string> metrics{"bleu"};
  std::string tokenize = "13a";
  bool lowercase = false;
  std::string smooth_method = "exp";
  std::optional<double> smooth_value;
  int chrf_word_order = 0;
  bool chrf_lowercase = false;
  int width = 1;
  std::string format = "text";
};

metrics::BleuSmoothing parse_smoothing(const std::string& name) {
  if (name == "none") return metrics::BleuSmoothing::kNone;
  if (name == "floor") return metrics::BleuSmoothing::kFloor;
  if (name == "add-k") return metrics::BleuSmoothing::kAddK;
  return metrics::BleuSmoothing::kExp;
}

// One metric's result: sacrebleu's Score.format pieces.
struct Result {
  std::string name, signature, verbose;
  double score;
};

// Score.format(is_json=True): name, score rounded to the width, signature, the verbose part, then
// the signature's fields, indented by one space.
std::string json_result(const Result& result, int width) {
  nlohmann::ordered_json json;
  json["name"] = result.name;
  json["score"] = std::stod(fmt::format("{:.{}f}", result.score, width));
  json["signature"] = result.signature;
  if (!result.verbose.empty()) json["verbose_score"] = result.verbose;
  for (size_t start = 0; start <= result.signature.size();) {
    size_t end = result.signature.find('|', start);
    if (end == std::string::npos) end = result.signature.size();
    const std::string field = result.signature.substr(start, end - start);
    const size_t colon = field.find(':');
    json[field.substr(0, colon)] = field.substr(colon + 1);
    start = end + 1;
  }
  return json.dump(1);
}

std::string text_result(const Result& result, int width) {
  std::string line = fmt::format("{}|{} = {:.{}f}", result.name, result.signature, result.score, width);
  if (!result.verbose.empty()) line += " " + result.verbose;
  return line;
}

void run_bleu(const BleuCommandOptions& options) {
  const std::vector<std::string> hypotheses = metrics::read_segments(options.hypotheses);
  DTRAIN_CHECK(!hypotheses.empty(), "{}: no lines to score", options.hypotheses);
  std::vector<std::vector<std::string>> references;
  for (const auto& path : options.references) {
    references.push_back(metrics::read_segments(path));
    DTRAIN_CHECK(references.back().size() == hypotheses.size(),
                 "{} has {} lines but {} has {}: they must align", options.hypotheses, hypotheses.size(),
                 path, references.back().size());
  }

  std::vector<std::string> names = options.metrics;
  std::sort(names.begin(), names.end());  // sacrebleu prints BLEU before chrF
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<Result> results;
  for (const auto& name : names) {
    if (name == "bleu") {
      metrics::BleuOptions bleu;
      bleu.tokenize = options.tokenize;
      bleu.lowercase = options.lowercase;
      bleu.smooth_method = parse_smoothing(options.smooth_method);
      bleu.smooth_value = options.smooth_value;
      const metrics::BleuScore score = metrics::corpus_bleu(hypotheses, references, bleu);
      results.push_back(
          {"BLEU", metrics::bleu_signature(bleu, references.size()), score.verbose(), score.score});
    } else {
      metrics::ChrfOptions chrf;
      chrf.word_order = options.chrf_word_order;
      chrf.lowercase = options.chrf_lowercase;
      const metrics::ChrfScore score = metrics::corpus_chrf(hypotheses, references, chrf);
      results.push_back({score.name(), metrics::chrf_signature(chrf, references.size()), "", score.score});
    }
  }

  if (options.format == "json") {
    std::vector<std::string> blocks;
    for (const auto& result : results) blocks.push_back(json_result(result, options.width));
    fmt::print("{}\n",
               blocks.size() == 1 ? blocks[0] : "[\n" + fmt::format("{}", fmt::join(blocks, ",\n")) + "\n]");
    return;
  }
  // Several lines are right-aligned on their " = ", as sacrebleu aligns them.
  std::vector<std::string> lines;
  size_t widest = 0;
  for (const auto& result : results) {
    lines.push_back(text_result(result, options.width));
    widest = std::max(widest, lines.back().find(" = "));
  }
  for (const auto& line : lines) {
    fmt::print("{}{}\n", std::string(results.size() > 1 ? widest - line.find(" = ") : 0, ' '), line);
  }
}

const RegisterCommand kBleu([](CLI::App& app) -> std::function<void()> {
  auto* sub = app.add_subcommand(
      "bleu",
      "Score a translation file against reference files with sacreBLEU's BLEU (and chrF), as sacrebleu does");
  auto options = std::make_shared<BleuCommandOptions>();
  sub->add_option("--hyp", options->hypotheses, "Translations to score, one segment per line")->required();
  sub->add_option("--ref", options->references,
                  "Reference translations, aligned with --hyp (repeat for several)")
      ->required();
  sub->add_option("--metrics", options->metrics, "bleu and/or chrf (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember({"bleu", "chrf"}))
      ->capture_default_str();
  sub->add_option("--tokenize", options->tokenize, "BLEU tokenizer: 13a (mteval-v13a, the default) or none")
      ->check(CLI::IsMember({"13a", "none"}))
      ->capture_default_str();
  sub->add_flag("--lowercase", options->lowercase, "Case-insensitive BLEU");
  sub->add_option("--smooth-method", options->smooth_method, "BLEU smoothing: exp, floor, add-k or none")
      ->check(CLI::IsMember({"exp", "floor", "add-k", "none"}))
      ->capture_default_str();
  sub->add_option("--smooth-value", options->smooth_value,
                  "Value for floor (default 0.1) and add-k (default 1)");
  sub->add_option("--chrf-word-order", options->chrf_word_order, "chrF word n-gram order (2 is chrF++)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_flag("--chrf-lowercase", options->chrf_lowercase, "Case-insensitive chrF");
  sub->add_option("--width", options->width, "Decimals of the scores")
      ->check(CLI::Range(0, 17))
      ->capture_default_str();
  sub->add_option("--format", options->format, "text or json (sacrebleu's default output)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  return [options] { run_bleu(*options); };
});

}  // namespace
}  // namespace dtrain::app
