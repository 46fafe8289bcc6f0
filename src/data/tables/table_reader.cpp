#include "data/tables/table_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "data/tables/table_formats.h"

namespace dtrain::data {

TableFormat parse_table_format(const std::string& name) {
  if (name == "tsv") return TableFormat::tsv;
  if (name == "csv") return TableFormat::csv;
  if (name == "jsonl") return TableFormat::jsonl;
  DTRAIN_FAIL("unknown table format '{}' (expected tsv, csv or jsonl)", name);
}

TableFormat table_format_from_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".tsv") return TableFormat::tsv;
  if (extension == ".csv") return TableFormat::csv;
  if (extension == ".jsonl" || extension == ".json") return TableFormat::jsonl;
  DTRAIN_FAIL("{}: cannot tell the table format from the extension; pass --format tsv|csv|jsonl",
              path.string());
}

int64_t column_index(const std::string& column) {
  if (column.empty() || column.size() > 9 ||
      !std::all_of(column.begin(), column.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return -1;
  }
  return std::stoll(column);
}

std::unique_ptr<TableReader> TableReader::open(const std::filesystem::path& path, TableFormat format,
                                               bool has_header, const std::vector<std::string>& columns) {
  if (format == TableFormat::jsonl) return open_jsonl_table(path, columns);
  return open_delimited_table(path, format, has_header, columns);
}

TableReader::TableReader(const std::filesystem::path& path, std::vector<std::string> columns)
    : columns_(std::move(columns)), path_(path) {
  std::error_code error;
  DTRAIN_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such file", path.string());
  stream_.open(path, std::ios::binary);
  DTRAIN_CHECK(stream_.is_open(), "{}: cannot open the file for reading", path.string());
}

std::string TableReader::where(int64_t line) const {
  return fmt::format("{}:{}", path_.string(), line);
}

bool TableReader::read_line(std::string& line) {
  if (!std::getline(stream_, line)) {
    DTRAIN_CHECK(stream_.eof(), "{}: read error after line {}", path_.string(), line_number_);
    return false;
  }
  ++line_number_;
  // Spreadsheet exports often start with a UTF-8 byte order mark; it is not part of the first field.
  if (line_number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

}  // namespace dtrain::data
