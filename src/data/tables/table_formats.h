#pragma once
// The concrete table readers behind TableReader::open (internal to src/data).
#include "data/tables/table_reader.h"

namespace dtrain::data {

// TSV (separator '\t', no quoting) or CSV (separator ',', RFC 4180 quoting).
std::unique_ptr<TableReader> open_delimited_table(const std::filesystem::path& path, TableFormat format,
                                                  bool has_header, const std::vector<std::string>& columns);
std::unique_ptr<TableReader> open_jsonl_table(const std::filesystem::path& path,
                                              const std::vector<std::string>& columns);

// A column given as a 0-based index ("0", "3"), or -1 when it is a name.
int64_t column_index(const std::string& column);

}  // namespace dtrain::data
