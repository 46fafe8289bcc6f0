// TSV and CSV tables: the same header and column handling, different record splitting.
#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "data/tables/table_formats.h"

namespace dtrain::data {
namespace {

class DelimitedTableReader : public TableReader {
 public:
  DelimitedTableReader(const std::filesystem::path& path, TableFormat format, bool has_header,
                       const std::vector<std::string>& columns)
      : TableReader(path, columns), quoted_(format == TableFormat::csv), separator_(quoted_ ? ',' : '\t') {
    std::vector<std::string> header;
    if (has_header) {
      DTRAIN_CHECK(read_record(header), "{}: the file is empty; expected a header row", path.string());
    }
    for (const std::string& column : columns_) indices_.push_back(resolve(column, header, has_header));
  }

  bool next(TableRow& row) override {
    if (!read_record(fields_)) return false;
    row.line = record_line_;
    row.values.clear();
    for (size_t c = 0; c < indices_.size(); ++c) {
      DTRAIN_CHECK(indices_[c] < fields_.size(),
                   "{}: row has {} fields, but column '{}' is field {} (0-based)", where(record_line_),
                   fields_.size(), columns_[c], indices_[c]);
      row.values.push_back(std::move(fields_[indices_[c]]));
    }
    return true;
  }

 private:
  size_t resolve(const std::string& column, const std::vector<std::string>& header, bool has_header) const {
    const auto named = std::find(header.begin(), header.end(), column);
    if (named != header.end()) return static_cast<size_t>(named - header.begin());
    const int64_t index = column_index(column);
    if (has_header) {
      DTRAIN_CHECK(index >= 0, "{}: unknown column '{}' (header: {})", path().string(), column,
                   fmt::join(header, ", "));
    } else {
      DTRAIN_CHECK(index >= 0, "{}: column '{}' must be a 0-based index when the file has no header",
                   path().string(), column);
    }
    return static_cast<size_t>(index);
  }

  // Reads the next non-blank record into `fields`; false at end of file.
  bool read_record(std::vector<std::string>& fields) {
    do {
      if (!read_line(line_)) return false;
    } while (line_.empty());
    record_line_ = line_number();
    fields.clear();
    if (quoted_) {
      split_csv(fields);
    } else {
      split_plain(fields);
    }
    return true;
  }

  void split_plain(std::vector<std::string>& fields) const {
    size_t begin = 0;
    for (;;) {
      const size_t end = line_.find(separator_, begin);
      fields.emplace_back(line_, begin, end == std::string::npos ? std::string::npos : end - begin);
      if (end == std::string::npos) return;
      begin = end + 1;
    }
  }

  // RFC 4180: a field in double quotes may hold separators, line breaks and "" for a quote.
  void split_csv(std::vector<std::string>& fields) {
    size_t i = 0;
    for (;;) {
      std::string field;
      if (i < line_.size() && line_[i] == '"') {
        ++i;
        for (;;) {
          if (i == line_.size()) {  // the quoted field continues on the next line
            DTRAIN_CHECK(read_line(line_), "{}: quoted field is never closed", where(record_line_));
            field += '\n';
            i = 0;
            continue;
          }
          const char c = line_[i++];
          if (c != '"') {
            field += c;
          } else if (i < line_.size() && line_[i] == '"') {
            field += '"';
            ++i;
          } else {
            break;
          }
        }
        DTRAIN_CHECK(i == line_.size() || line_[i] == separator_,
                     "{}: unexpected character '{}' after a closing quote", where(line_number()), line_[i]);
      } else {
        const size_t end = std::min(line_.find(separator_, i), line_.size());
        field.assign(line_, i, end - i);
        i = end;
      }
      fields.push_back(std::move(field));
      if (i == line_.size()) return;
      ++i;  // the separator
    }
  }

  const bool quoted_;
  const char separator_;
  std::vector<size_t> indices_;
  std::string line_;
  std::vector<std::string> fields_;
  int64_t record_line_ = 0;
};

}  // namespace

std::unique_ptr<TableReader> open_delimited_table(const std::filesystem::path& path, TableFormat format,
                                                  bool has_header, const std::vector<std::string>& columns) {
  return std::make_unique<DelimitedTableReader>(path, format, has_header, columns);
}

}  // namespace dtrain::data
