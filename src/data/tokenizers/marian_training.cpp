#include "data/tokenizers/marian_training.h"

#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/tokenizers/marian_tokenizer.h"
#include "data/tokenizers/sentencepiece.h"
#include "data/tokenizers/utf8.h"

namespace dtrain::data {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

constexpr const char* kEos = "</s>";
constexpr const char* kUnk = "<unk>";
constexpr const char* kPad = "<pad>";
// SentencePiece leaves lines holding U+2047 (its rendering of unknown pieces) out of training.
constexpr std::string_view kReservedChar = "\xE2\x81\x87";

spdlog::logger& progress_log() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("train-tokenizer");
    return existing ? existing : spdlog::stderr_color_mt("train-tokenizer");
  }();
  return *logger;
}

// The lines SentencePiece trains on: LF or CRLF line ends, a leading byte order mark dropped, every
// line valid UTF-8. Empty, over-long and reserved lines are counted and left out, as SentencePiece
// would skip them anyway.
std::vector<std::string> read_training_lines(const fs::path& path, int max_line_bytes,
                                             MarianTrainingSummary::Side& side) {
  DTRAIN_CHECK(fs::is_regular_file(path), "{}: not found", path.string());
  std::ifstream in(path, std::ios::binary);
  DTRAIN_CHECK(in.good(), "{}: cannot open", path.string());
  side.file = path.string();
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    ++side.lines;
    if (side.lines == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    try {
      char32_t code;
      for (std::size_t pos = 0; pos < line.size();) pos += decode_utf8(line, pos, 0, code);
    } catch (const Error& e) {
      DTRAIN_FAIL("{}:{}: {}", path.string(), side.lines, e.what());
    }
    if (line.empty()) {
      ++side.empty;
    } else if (line.size() > static_cast<std::size_t>(max_line_bytes)) {
      ++side.too_long;
    } else if (line.find(kReservedChar) != std::string::npos) {
      ++side.reserved;
    } else {
      lines.push_back(std::move(line));
    }
  }
  DTRAIN_CHECK(!in.bad(), "{}: read error", path.string());
  DTRAIN_CHECK(!lines.empty(),
               "{}: no text to train on ({} lines: {} empty, {} longer than {} bytes, {} holding U+2047)",
               path.string(), side.lines, side.empty, side.too_long, max_line_bytes, side.reserved);
  return lines;
}

std::string train_model(const MarianTrainingOptions& options, const std::vector<std::string>& lines,
                        const std::string& file) {
  const std::map<std::string, std::string> trainer_options{
      {"model_type", options.model_type},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"character_coverage", fmt::format("{}", options.character_coverage)},
      {"normalization_rule_name", options.normalization},
      {"input_sentence_size", std::to_string(options.sample_lines)},
      {"shuffle_input_sentence", "true"},
      {"max_sentence_length", std::to_string(options.max_line_bytes)},
      {"num_threads", std::to_string(options.threads)},
      {"minloglevel", options.verbose ? "0" : "2"},
  };
  const bool sampled =
      options.sample_lines > 0 && static_cast<std::size_t>(options.sample_lines) < lines.size();
  progress_log().info(
      "training a {} model of {} pieces on {}{} lines of {}", options.model_type, options.vocab_size,
      sampled ? fmt::format("a sample of {} of the ", options.sample_lines) : "", lines.size(), file);
  try {
    return train_sentencepiece(trainer_options, lines, options.seed);
  } catch (const Error& e) {
    DTRAIN_FAIL("{}: cannot train a {}-piece SentencePiece model: {}", file, options.vocab_size, e.what());
  }
}

// vocab.json's tokens for `models`: "</s>", "<unk>", the models' pieces in model order (the first
// model's, then the new ones of the next), "<pad>". Control and unknown pieces are left out, and so are
// pieces spelled like a special token (transformers splits texts at those before segmenting them).
std::vector<std::string> vocabulary_tokens(const std::vector<const SentencePieceModel*>& models) {
  std::vector<std::string> tokens{kEos, kUnk};
  std::set<std::string> seen{kEos, kUnk, kPad};
  for (const SentencePieceModel* model : models) {
    for (int id = 0; id < model->size(); ++id) {
      const spm::PieceKind kind = model->kind(id);
      if (kind == spm::PieceKind::kControl || kind == spm::PieceKind::kUnknown ||
          kind == spm::PieceKind::kUnused)
        continue;
      std::string piece = model->piece(id);
      if (seen.insert(piece).second) tokens.push_back(std::move(piece));
    }
  }
  tokens.emplace_back(kPad);
  return tokens;
}

std::string vocabulary_json(const std::vector<std::string>& tokens) {
  ordered_json vocabulary = ordered_json::object();
  for (std::size_t id = 0; id < tokens.size(); ++id) vocabulary[tokens[id]] = id;
  return vocabulary.dump(2) + "\n";
}

std::string tokenizer_config_json(const MarianTrainingOptions& options) {
  ordered_json config = ordered_json::object();
  config["tokenizer_class"] = "MarianTokenizer";
  if (options.source_lang) config["source_lang"] = *options.source_lang;
  if (options.target_lang) config["target_lang"] = *options.target_lang;
  config["separate_vocabs"] = options.separate_vocabs;
  config["unk_token"] = kUnk;
  config["eos_token"] = kEos;
  config["pad_token"] = kPad;
  config["model_max_length"] = 512;
  return config.dump(2) + "\n";
}

void fsync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DTRAIN_CHECK(fd >= 0, "cannot open {} to sync it: {}", folder.string(), std::strerror(errno));
  const int result = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  DTRAIN_CHECK(result == 0, "fsync of {} failed: {}", folder.string(), std::strerror(saved_errno));
}

// The umask, read without changing it (umask(2) can only set it, which would race with other threads).
unsigned process_umask() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<unsigned>(std::stoul(line.substr(6), nullptr, 8));
  }
  return 022;
}

void rename_or_fail(const fs::path& from, const fs::path& to) {
  DTRAIN_CHECK(::rename(from.c_str(), to.c_str()) == 0, "cannot rename {} to {}: {}", from.string(),
               to.string(), std::strerror(errno));
}

// A folder next to the output that is removed unless published.
class StagingFolder {
 public:
  explicit StagingFolder(const fs::path& output)
      : output_(output), path_(sibling(output, ".tmp-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directory(path_);
  }
  ~StagingFolder() {
    std::error_code ignored;
    if (!published_) fs::remove_all(path_, ignored);
  }
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;

  const fs::path& path() const { return path_; }

  // Moves the staged folder to the output, replacing an existing one.
  void publish() {
    const fs::path parent = output_.parent_path().empty() ? fs::path(".") : output_.parent_path();
    // Files are written private (mkstemp); a tokenizer folder is for sharing, as the umask allows.
    for (const auto& entry : fs::directory_iterator(path_)) {
      fs::permissions(entry.path(), static_cast<fs::perms>(0666 & ~process_umask()));
    }
    fsync_folder(path_);
    if (fs::exists(output_)) {
      const fs::path old = sibling(output_, ".old-" + std::to_string(::getpid()));
      fs::remove_all(old);
      rename_or_fail(output_, old);
      rename_or_fail(path_, output_);
      published_ = true;
      fs::remove_all(old);
    } else {
      rename_or_fail(path_, output_);
      published_ = true;
    }
    fsync_folder(parent);
  }

 private:
  static fs::path sibling(const fs::path& output, const std::string& suffix) {
    return output.parent_path() / ("." + output.filename().string() + suffix);
  }

  fs::path output_, path_;
  bool published_ = false;
};

void check_options(const MarianTrainingOptions& options) {
  DTRAIN_CHECK(options.vocab_size > 0, "--vocab-size must be positive, got {}", options.vocab_size);
  DTRAIN_CHECK(options.character_coverage > 0 && options.character_coverage <= 1,
               "--character-coverage must be in (0, 1], got {}", options.character_coverage);
  DTRAIN_CHECK(options.threads >= 1 && options.threads <= 128, "--threads must be between 1 and 128, got {}",
               options.threads);
  DTRAIN_CHECK(options.sample_lines >= 0, "--sample must not be negative, got {}", options.sample_lines);
  DTRAIN_CHECK(options.max_line_bytes > 0, "--max-line-bytes must be positive, got {}",
               options.max_line_bytes);
  const std::set<std::string> model_types{"unigram", "bpe", "char", "word"};
  DTRAIN_CHECK(model_types.count(options.model_type),
               "--model-type must be unigram, bpe, char or word, got '{}'", options.model_type);
  const std::set<std::string> normalizations{"nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf", "identity"};
  DTRAIN_CHECK(normalizations.count(options.normalization),
               "--normalization must be nmt_nfkc, nfkc, nmt_nfkc_cf, nfkc_cf or identity, got '{}'",
               options.normalization);
  DTRAIN_CHECK(!options.output.empty() && !options.output.filename().empty(), "--output must name a folder");
  if (fs::exists(options.output)) {
    DTRAIN_CHECK(fs::is_directory(options.output), "{}: exists and is not a folder", options.output.string());
    DTRAIN_CHECK(options.overwrite || fs::is_empty(options.output),
                 "{}: exists and is not empty (pass --overwrite to replace it)", options.output.string());
  }
}

}  // namespace

std::string MarianTrainingSummary::to_string() const {
  std::string text;
  for (const Side* side : {&source, &target}) {
    text += fmt::format("{}: {} lines", side->file, side->lines);
    std::vector<std::string> skipped;
    if (side->empty) skipped.push_back(fmt::format("{} empty", side->empty));
    if (side->too_long) skipped.push_back(fmt::format("{} too long", side->too_long));
    if (side->reserved) skipped.push_back(fmt::format("{} holding U+2047", side->reserved));
    if (!skipped.empty()) text += fmt::format(" ({} left out)", fmt::join(skipped, ", "));
    text += fmt::format(" -> {}/{} ({} pieces)\n", output, side == &source ? "source.spm" : "target.spm",
                        side->pieces);
  }
  if (separate_vocabs) {
    text += fmt::format("{}/vocab.json: {} tokens, target_vocab.json: {} tokens (separate vocabularies)\n",
                        output, vocab_size, target_vocab_size);
  } else {
    text += fmt::format("{}/vocab.json: {} tokens (shared by source and target)\n", output, vocab_size);
  }
  text += fmt::format(
      "MarianConfig: vocab_size {}, decoder_vocab_size {}, pad_token_id {} (= decoder_start_token_id), "
      "eos_token_id {}; unk {} (model_config_fields.json)",
      vocab_size, target_vocab_size, pad_id, eos_id, unk_id);
  return text;
}

MarianTrainingSummary train_marian_tokenizer(const MarianTrainingOptions& requested) {
  MarianTrainingOptions options = requested;
  // "out/" names the folder "out".
  options.output = options.output.lexically_normal();
  if (options.output.filename().empty()) options.output = options.output.parent_path();
  check_options(options);
  MarianTrainingSummary summary;
  summary.output = options.output.string();
  summary.separate_vocabs = options.separate_vocabs;
  const auto source_lines = read_training_lines(options.source_file, options.max_line_bytes, summary.source);
  const auto target_lines = read_training_lines(options.target_file, options.max_line_bytes, summary.target);
  const std::string source_bytes = train_model(options, source_lines, options.source_file.string());
  const std::string target_bytes = train_model(options, target_lines, options.target_file.string());
  const SentencePieceModel source(source_bytes, "source.spm");
  const SentencePieceModel target(target_bytes, "target.spm");
  summary.source.pieces = source.size();
  summary.target.pieces = target.size();

  if (options.output.has_parent_path()) fs::create_directories(options.output.parent_path());
  StagingFolder staging(options.output);
  const fs::path& folder = staging.path();
  write_text_atomically(folder / "source.spm", source_bytes);
  write_text_atomically(folder / "target.spm", target_bytes);
  if (options.separate_vocabs) {
    write_text_atomically(folder / "vocab.json", vocabulary_json(vocabulary_tokens({&source})));
    write_text_atomically(folder / "target_vocab.json", vocabulary_json(vocabulary_tokens({&target})));
  } else {
    write_text_atomically(folder / "vocab.json", vocabulary_json(vocabulary_tokens({&source, &target})));
  }
  write_text_atomically(folder / "tokenizer_config.json", tokenizer_config_json(options));
  // Read back as any Marian folder is, so the ids reported are the ones every user of it gets.
  const MarianTokenizer tokenizer = MarianTokenizer::from_folder(folder);
  write_text_atomically(folder / "model_config_fields.json", tokenizer.model_config_fields_json() + "\n");
  staging.publish();

  const SpecialTokenIds ids = tokenizer.special_ids();
  summary.vocab_size = tokenizer.vocab_size();
  summary.target_vocab_size = tokenizer.target_vocab_size();
  summary.pad_id = ids.pad;
  summary.unk_id = ids.unk;
  summary.eos_id = *ids.eos;
  return summary;
}

}  // namespace dtrain::data
