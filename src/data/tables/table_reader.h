#pragma once
// Streaming readers for the text tables dtrain prepare accepts: GLUE-style TSV (no quoting), CSV
// (RFC 4180), and JSON Lines. Columns are chosen by header name / JSON key or by 0-based index;
// each row remembers the 1-based line it starts on, so errors can say "file:line: problem".
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace dtrain::data {

enum class TableFormat { tsv, csv, jsonl };

// "tsv", "csv" or "jsonl"; throws dtrain::Error otherwise.
TableFormat parse_table_format(const std::string& name);
// From the extension (.tsv, .csv, .jsonl/.json); throws asking for --format when unknown.
TableFormat table_format_from_extension(const std::filesystem::path& path);

struct TableRow {
  int64_t line = 0;                 // 1-based line the record starts on
  std::vector<std::string> values;  // the selected columns, in the order they were selected
};

class TableReader {
 public:
  // Opens the file and resolves `columns` (header names or 0-based indices; JSON keys for JSONL).
  // `has_header` is ignored for JSONL. Throws for a missing file or an unknown column.
  static std::unique_ptr<TableReader> open(const std::filesystem::path& path, TableFormat format,
                                           bool has_header, const std::vector<std::string>& columns);
  virtual ~TableReader() = default;

  // Reads the next record; false at the end of the file. Blank lines are skipped.
  virtual bool next(TableRow& row) = 0;

  const std::filesystem::path& path() const { return path_; }
  // "file:line" for messages about a row.
  std::string where(int64_t line) const;

 protected:
  TableReader(const std::filesystem::path& path, std::vector<std::string> columns);
  // Reads one physical line without its line break (and '\r'); false at end of file.
  bool read_line(std::string& line);
  int64_t line_number() const { return line_number_; }  // of the line last read

  std::vector<std::string> columns_;

 private:
  std::filesystem::path path_;
  std::ifstream stream_;
  int64_t line_number_ = 0;
};

}  // namespace dtrain::data
