#include "data/dataset/prepare_translation.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "common/sha256.h"
#include "data/dataset/dataset_writer.h"
#include "data/dataset/encode_in_batches.h"
#include "data/dataset/text_checks.h"

namespace dtrain::data {
namespace {

struct TextPair {
  int64_t line = 0;  // 1-based
  std::string source, target;
};

enum class Side { source, target };

// Where pairs come from: two parallel files or two columns of a table.
class PairReader {
 public:
  virtual ~PairReader() = default;
  virtual bool next(TextPair& pair) = 0;
  // "file:line" of one side of the pair starting on `line`.
  virtual std::string where(int64_t line, Side side) const = 0;
  // What holds a side's text in messages: "the line" or "column 'x'".
  virtual std::string holder(Side side) const = 0;
  virtual std::string file_names() const = 0;
  virtual std::string file_sha256() const = 0;
};

class ParallelFilesReader : public PairReader {
 public:
  ParallelFilesReader(std::filesystem::path source, std::filesystem::path target)
      : source_path_(std::move(source)), target_path_(std::move(target)) {
    open(source_path_, source_);
    open(target_path_, target_);
  }

  bool next(TextPair& pair) override {
    const bool has_source = read_line(source_, source_path_, pair.source);
    const bool has_target = read_line(target_, target_path_, pair.target);
    if (has_source || has_target) ++line_;
    DTRAIN_CHECK(has_source == has_target,
                 "{}:{}: no line {} in {} to pair it with (the two files must have the same number of lines)",
                 (has_source ? source_path_ : target_path_).string(), line_, line_,
                 (has_source ? target_path_ : source_path_).string());
    pair.line = line_;
    return has_source;
  }
  std::string where(int64_t line, Side side) const override {
    return fmt::format("{}:{}", (side == Side::source ? source_path_ : target_path_).string(), line);
  }
  std::string holder(Side) const override { return "the line"; }
  std::string file_names() const override {
    return source_path_.filename().string() + " + " + target_path_.filename().string();
  }
  std::string file_sha256() const override {
    return sha256_file_hex(source_path_) + " " + sha256_file_hex(target_path_);
  }

 private:
  static void open(const std::filesystem::path& path, std::ifstream& stream) {
    std::error_code error;
    DTRAIN_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such file", path.string());
    stream.open(path, std::ios::binary);
    DTRAIN_CHECK(stream.is_open(), "{}: cannot open the file for reading", path.string());
  }
  // One line split on "\n" only, without a final "\r" (and a byte order mark on the first line).
  bool read_line(std::ifstream& stream, const std::filesystem::path& path, std::string& line) const {
    if (!std::getline(stream, line)) {
      DTRAIN_CHECK(stream.eof(), "{}: read error after line {}", path.string(), line_);
      return false;
    }
    if (line_ == 0 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  std::filesystem::path source_path_, target_path_;
  std::ifstream source_, target_;
  int64_t line_ = 0;
};

class TablePairReader : public PairReader {
 public:
  explicit TablePairReader(const TranslationPrepareOptions& options)
      : options_(options),
        table_(TableReader::open(
            options.input, options.format ? *options.format : table_format_from_extension(options.input),
            options.has_header, {options.source_column, options.target_column})) {}

  bool next(TextPair& pair) override {
    if (!table_->next(row_)) return false;
    pair.line = row_.line;
    pair.source = std::move(row_.values[0]);
    pair.target = std::move(row_.values[1]);
    return true;
  }
  std::string where(int64_t line, Side) const override { return table_->where(line); }
  std::string holder(Side side) const override {
    return fmt::format("column '{}'", side == Side::source ? options_.source_column : options_.target_column);
  }
  std::string file_names() const override { return options_.input.filename().string(); }
  std::string file_sha256() const override { return sha256_file_hex(options_.input); }

 private:
  const TranslationPrepareOptions& options_;
  std::unique_ptr<TableReader> table_;
  TableRow row_;
};

struct EncodedPair {
  std::vector<int32_t> source_ids, target_ids;
  bool source_truncated = false, target_truncated = false;
};

class PairEncoder {
 public:
  PairEncoder(const TranslationPrepareOptions& options, const Tokenizer& tokenizer, const PairReader& reader)
      : options_(options), tokenizer_(tokenizer), reader_(reader) {}

  EncodedPair encode(const TextPair& pair) const {
    check_text(pair.source, pair.line, Side::source);
    check_text(pair.target, pair.line, Side::target);
    EncodedPair encoded;
    const auto encode_source = [&](int max_length) { return tokenizer_.encode(pair.source, max_length); };
    const auto encode_target = [&](int max_length) {
      return tokenizer_.encode_target(pair.target, max_length);
    };
    encoded.source_ids = encode_source(options_.max_source_length);
    encoded.target_ids = encode_target(options_.max_target_length);
    // A side that fills its maximum exactly was cut only if one more token of room changes it.
    encoded.source_truncated = is_truncated(encoded.source_ids, options_.max_source_length, encode_source);
    encoded.target_truncated = is_truncated(encoded.target_ids, options_.max_target_length, encode_target);
    return encoded;
  }

 private:
  template <typename Encode>
  static bool is_truncated(const std::vector<int32_t>& ids, int max_length, const Encode& encode) {
    return static_cast<int>(ids.size()) == max_length &&
           static_cast<int>(encode(max_length + 1).size()) > max_length;
  }

  void check_text(const std::string& text, int64_t line, Side side) const {
    DTRAIN_CHECK(!is_blank(text), "{}: {} is empty", reader_.where(line, side), reader_.holder(side));
    const int64_t bad_byte = invalid_utf8_offset(text);
    DTRAIN_CHECK(bad_byte < 0, "{}: {} is not valid UTF-8 (byte {})", reader_.where(line, side),
                 reader_.holder(side), bad_byte);
  }

  const TranslationPrepareOptions& options_;
  const Tokenizer& tokenizer_;
  const PairReader& reader_;
};

std::unique_ptr<PairReader> open_pairs(const TranslationPrepareOptions& options) {
  const bool files = !options.source_file.empty() || !options.target_file.empty();
  const bool table = !options.input.empty();
  DTRAIN_CHECK(files != table,
               "translation data comes either from --source-file and --target-file or from --input with "
               "--source and --target columns");
  if (files) {
    DTRAIN_CHECK(!options.source_file.empty() && !options.target_file.empty(),
                 "--source-file and --target-file go together");
    DTRAIN_CHECK(options.output != options.source_file && options.output != options.target_file,
                 "--output must differ from the input files");
    return std::make_unique<ParallelFilesReader>(options.source_file, options.target_file);
  }
  DTRAIN_CHECK(!options.source_column.empty() && !options.target_column.empty(),
               "--input needs --source and --target: the columns (or JSON keys such as translation.en) "
               "of the two languages");
  DTRAIN_CHECK(options.input != options.output, "--output must differ from --input");
  return std::make_unique<TablePairReader>(options);
}

void check_tokenizer(const Tokenizer& tokenizer) {
  DTRAIN_CHECK(tokenizer.type() == "marian",
               "translation needs a Marian tokenizer folder (source.spm, target.spm, vocab.json); this one "
               "is a {} tokenizer",
               tokenizer.type());
}

void record(TranslationPrepareSummary::Side& side, const std::vector<int32_t>& ids, bool truncated) {
  const auto length = static_cast<int64_t>(ids.size());
  side.tokens += length;
  side.longest = std::max(side.longest, length);
  side.truncated += truncated ? 1 : 0;
}

}  // namespace

std::string TranslationPrepareSummary::to_string() const {
  const auto describe = [&](const Side& side) {
    return fmt::format("{} tokens, length mean {:.1f} max {}, {} truncated to {}", side.tokens,
                       pairs ? static_cast<double>(side.tokens) / pairs : 0.0, side.longest, side.truncated,
                       side.max_length);
  };
  return fmt::format("{} -> {}: {} pairs; source {}; target {}", source_file, output_file, pairs,
                     describe(source), describe(target));
}

TranslationPrepareSummary prepare_translation_dataset(const TranslationPrepareOptions& options,
                                                      const Tokenizer& tokenizer) {
  check_tokenizer(tokenizer);
  // Marian keeps max_length - 1 pieces and appends EOS: one piece needs 2.
  DTRAIN_CHECK(options.max_source_length >= 2,
               "--max-source-length {} is too small: EOS and one token need 2", options.max_source_length);
  DTRAIN_CHECK(options.max_target_length >= 2,
               "--max-target-length {} is too small: EOS and one token need 2", options.max_target_length);
  DTRAIN_CHECK(!options.output.empty(), "--output is required");
  const auto reader = open_pairs(options);
  const PairEncoder encoder(options, tokenizer, *reader);
  if (options.output.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(options.output.parent_path(), error);
    DTRAIN_CHECK(!error, "{}: cannot create the folder: {}", options.output.parent_path().string(),
                 error.message());
  }
  DatasetWriter writer(options.output, DatasetLayout{TaskType::translation, tokenizer.vocab_size(), false,
                                                     tokenizer.target_vocab_size()});

  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  TranslationPrepareSummary summary;
  summary.source_file = reader->file_names();
  summary.output_file = options.output.string();
  summary.source.max_length = options.max_source_length;
  summary.target.max_length = options.max_target_length;
  encode_in_batches<TextPair, EncodedPair>(
      threads, [&](TextPair& pair) { return reader->next(pair); },
      [&](const TextPair& pair) { return encoder.encode(pair); },
      [&](const EncodedPair& pair) {
        writer.add_translation(pair.source_ids, pair.target_ids);
        ++summary.pairs;
        record(summary.source, pair.source_ids, pair.source_truncated);
        record(summary.target, pair.target_ids, pair.target_truncated);
      },
      [&](double seconds) { log_prepare_progress(summary.source_file, summary.pairs, "pairs", seconds); });
  DTRAIN_CHECK(summary.pairs > 0, "{}: no data", summary.source_file);

  const SpecialTokenIds special = tokenizer.special_ids();
  DTRAIN_CHECK(special.eos && special.decoder_start, "the tokenizer has no EOS or decoder start token");
  DatasetInfo info;
  info.task = TaskType::translation;
  info.num_labels = 0;
  info.vocab_size = tokenizer.vocab_size();
  info.target_vocab_size = tokenizer.target_vocab_size();
  info.pad_id = special.pad;
  info.cls_id = kNoTokenId;
  info.sep_id = kNoTokenId;
  info.eos_id = *special.eos;
  info.decoder_start_token_id = *special.decoder_start;
  info.max_length = options.max_source_length;
  info.max_target_length = options.max_target_length;
  info.vocab_sha256 = tokenizer.vocab_sha256();
  info.target_vocab_sha256 = tokenizer.target_vocab_sha256();
  info.source_file = summary.source_file;
  info.source_sha256 = reader->file_sha256();
  info.tokenizer_type = "marian-sentencepiece";
  info.tokenizer_settings_json = tokenizer.settings_json();
  writer.commit(info);
  return summary;
}

}  // namespace dtrain::data
