#include "data/dataset/prepare.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "common/error.h"
#include "common/sha256.h"
#include "data/dataset/dataset_writer.h"
#include "data/dataset/encode_in_batches.h"
#include "data/dataset/text_checks.h"
#include "data/tables/label_parser.h"

namespace dtrain::data {
namespace {

struct EncodedRow {
  Encoding encoding;
  bool truncated = false;
  int64_t class_id = 0;
  float target = 0;
};

class RowEncoder {
 public:
  RowEncoder(const PrepareOptions& options, const BertTokenizer& tokenizer, const LabelParser& labels,
             const TableReader& table)
      : options_(options), tokenizer_(tokenizer), labels_(labels), table_(table) {}

  // Row values are [text_a, text_b if any, label].
  EncodedRow encode(const TableRow& row) const {
    const std::string where = table_.where(row.line);
    const bool pair = options_.text_b.has_value();
    check_text(row.values[0], options_.text_a, where);
    if (pair) check_text(row.values[1], *options_.text_b, where);
    const std::string& label = row.values.back();

    EncodedRow encoded;
    if (labels_.task() == TaskType::classification) {
      encoded.class_id = labels_.class_id(label, where);
    } else {
      encoded.target = labels_.regression_target(label, where);
    }
    const auto text_b = pair ? std::optional<std::string_view>(row.values[1]) : std::nullopt;
    encoded.encoding = tokenizer_.encode(row.values[0], text_b, options_.max_length);
    // A row that fills max_length exactly was cut only if one more token of room changes it.
    if (static_cast<int>(encoded.encoding.input_ids.size()) == options_.max_length) {
      encoded.truncated =
          static_cast<int>(
              tokenizer_.encode(row.values[0], text_b, options_.max_length + 1).input_ids.size()) >
          options_.max_length;
    }
    return encoded;
  }

 private:
  static void check_text(const std::string& text, const std::string& column, const std::string& where) {
    DTRAIN_CHECK(!is_blank(text), "{}: column '{}' is empty", where, column);
    const int64_t bad_byte = invalid_utf8_offset(text);
    DTRAIN_CHECK(bad_byte < 0, "{}: column '{}' is not valid UTF-8 (byte {})", where, column, bad_byte);
  }

  const PrepareOptions& options_;
  const BertTokenizer& tokenizer_;
  const LabelParser& labels_;
  const TableReader& table_;
};

void check_options(const PrepareOptions& options) {
  const int special_tokens = options.text_b ? 3 : 2;
  DTRAIN_CHECK(options.max_length > special_tokens,
               "--max-length {} is too small: {} special tokens plus at least one text token need {}",
               options.max_length, special_tokens, special_tokens + 1);
  DTRAIN_CHECK(options.input != options.output, "--output must differ from --input");
}

void record(PrepareSummary& summary, const EncodedRow& row, TaskType task) {
  const auto length = static_cast<int64_t>(row.encoding.input_ids.size());
  ++summary.rows;
  summary.tokens += length;
  summary.longest = std::max(summary.longest, length);
  summary.truncated += row.truncated ? 1 : 0;
  if (task == TaskType::classification) {
    if (summary.label_counts.size() <= static_cast<size_t>(row.class_id))
      summary.label_counts.resize(row.class_id + 1);
    ++summary.label_counts[row.class_id];
  } else {
    summary.target_min = summary.rows == 1 ? row.target : std::min<double>(summary.target_min, row.target);
    summary.target_max = summary.rows == 1 ? row.target : std::max<double>(summary.target_max, row.target);
    summary.target_sum += row.target;
  }
}

}  // namespace

std::string PrepareSummary::to_string() const {
  const double mean_length = rows ? static_cast<double>(tokens) / rows : 0.0;
  std::string labels;
  if (label_counts.empty()) {
    labels = fmt::format("targets min {:.3g} mean {:.3g} max {:.3g}", target_min,
                         rows ? target_sum / rows : 0.0, target_max);
  } else {
    labels = "labels";
    for (size_t id = 0; id < label_counts.size(); ++id) {
      labels += fmt::format(" {}={}", id < label_names.size() ? label_names[id] : std::to_string(id),
                            label_counts[id]);
    }
  }
  return fmt::format("{} -> {}: {} rows, {} tokens, length mean {:.1f} max {}, {} truncated to {}; {}",
                     source_file, output_file, rows, tokens, mean_length, longest, truncated, max_length,
                     labels);
}

PrepareSummary prepare_dataset(const PrepareOptions& options, const BertTokenizer& tokenizer) {
  check_options(options);
  const LabelParser labels(options.task, options.label_names);
  std::vector<std::string> columns{options.text_a};
  if (options.text_b) columns.push_back(*options.text_b);
  columns.push_back(options.label);
  const TableFormat format = options.format ? *options.format : table_format_from_extension(options.input);
  const auto table = TableReader::open(options.input, format, options.has_header, columns);
  const RowEncoder encoder(options, tokenizer, labels, *table);
  if (options.output.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(options.output.parent_path(), error);
    DTRAIN_CHECK(!error, "{}: cannot create the folder: {}", options.output.parent_path().string(),
                 error.message());
  }
  DatasetWriter writer(options.output, options.task, tokenizer.vocab_size());

  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  PrepareSummary summary;
  summary.source_file = options.input.filename().string();
  summary.output_file = options.output.string();
  summary.max_length = options.max_length;
  summary.label_names = options.label_names;
  summary.label_counts.resize(options.label_names.size());
  encode_in_batches<TableRow, EncodedRow>(
      threads, [&](TableRow& row) { return table->next(row); },
      [&](const TableRow& row) { return encoder.encode(row); },
      [&](const EncodedRow& row) {
        if (options.task == TaskType::classification) {
          writer.add(row.encoding, row.class_id);
        } else {
          writer.add(row.encoding, row.target);
        }
        record(summary, row, options.task);
      },
      [&](double seconds) { log_prepare_progress(summary.source_file, summary.rows, "rows", seconds); });
  DTRAIN_CHECK(summary.rows > 0, "{}: no data rows", options.input.string());

  DatasetInfo info;
  info.task = options.task;
  info.num_labels = labels.num_labels(static_cast<int64_t>(summary.label_counts.size()) - 1);
  info.label_names = options.label_names;
  info.vocab_size = tokenizer.vocab_size();
  info.pad_id = tokenizer.pad_id();
  info.cls_id = tokenizer.cls_id();
  info.sep_id = tokenizer.sep_id();
  info.max_length = options.max_length;
  info.vocab_sha256 = tokenizer.vocab_sha256();
  info.source_file = summary.source_file;
  info.source_sha256 = sha256_file_hex(options.input);
  info.tokenizer_type = tokenizer.type();
  info.tokenizer_settings_json = tokenizer.settings().to_json();
  writer.commit(info);
  return summary;
}

}  // namespace dtrain::data
