// JSON Lines tables: one JSON object per line; columns are keys (or indices into JSON arrays), and
// a dotted key ("translation.en") reaches into nested objects when no key has that exact name.
#include <algorithm>
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
      if (found != record.end()) return *found;
      const nlohmann::json* nested = nested_value(record, column);
      DTRAIN_CHECK(nested, "{}: no key '{}'", where(line), column);
      return *nested;
    }
    const int64_t index = column_index(column);
    DTRAIN_CHECK(index >= 0 && static_cast<size_t>(index) < record.size(),
                 "{}: column '{}' is not an index of this {}-element array", where(line), column,
                 record.size());
    return record[static_cast<size_t>(index)];
  }

  // "translation.en" in {"translation": {"en": ...}}: the Hugging Face datasets layout of parallel text.
  static const nlohmann::json* nested_value(const nlohmann::json& record, const std::string& path) {
    const nlohmann::json* value = &record;
    for (size_t begin = 0; begin <= path.size();) {
      const size_t end = std::min(path.find('.', begin), path.size());
      if (!value->is_object()) return nullptr;
      const auto found = value->find(path.substr(begin, end - begin));
      if (found == value->end()) return nullptr;
      value = &*found;
      begin = end + 1;
    }
    return value == &record ? nullptr : value;
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
