// JSON Lines tables: one JSON object per line; columns are keys (or indices into JSON arrays).
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/tables/table_formats.h"

namespace dtrain::data {
namespace {

class JsonlTableReader : public TableReader {
 public:
  JsonlTableReader(const std::filesystem::path& path, const std::vector<std::string>& columns)
      : TableReader(path, columns) {}

  bool next(TableRow& row) override {
    do {
      if (!read_line(line_)) return false;
    } while (line_.find_first_not_of(" \t") == std::string::npos);
    row.line = line_number();
    const nlohmann::json record = nlohmann::json::parse(line_, nullptr, /*allow_exceptions=*/false);
    DTRAIN_CHECK(!record.is_discarded(), "{}: not valid JSON", where(row.line));
    DTRAIN_CHECK(record.is_object() || record.is_array(), "{}: expected a JSON object", where(row.line));
    row.values.clear();
    for (const std::string& column : columns_)
      row.values.push_back(text_of(lookup(record, column, row.line), column, row.line));
    return true;
  }

 private:
  const nlohmann::json& lookup(const nlohmann::json& record, const std::string& column, int64_t line) const {
    if (record.is_object()) {
      const auto found = record.find(column);
      DTRAIN_CHECK(found != record.end(), "{}: no key '{}'", where(line), column);
      return *found;
    }
    const int64_t index = column_index(column);
    DTRAIN_CHECK(index >= 0 && static_cast<size_t>(index) < record.size(),
                 "{}: column '{}' is not an index of this {}-element array", where(line), column,
                 record.size());
    return record[static_cast<size_t>(index)];
  }

  std::string text_of(const nlohmann::json& value, const std::string& column, int64_t line) const {
    if (value.is_string()) return value.get<std::string>();
    DTRAIN_CHECK(value.is_number() || value.is_boolean(), "{}: '{}' is {}, expected a string or a number",
                 where(line), column, value.type_name());
    return value.dump();
  }

  std::string line_;
};

}  // namespace

std::unique_ptr<TableReader> open_jsonl_table(const std::filesystem::path& path,
                                              const std::vector<std::string>& columns) {
  return std::make_unique<JsonlTableReader>(path, columns);
}

}  // namespace dtrain::data
