#pragma once
// Hypothesis and reference files as sacreBLEU's command line reads them: UTF-8, one segment per
// line (split on '\n' only), trailing whitespace removed as str.rstrip() does; a last line without
// '\n' counts, a byte order mark stays part of the first segment.
#include <filesystem>
#include <string>
#include <vector>

namespace dtrain::metrics {

// Throws dtrain::Error naming the file (and line, for text that is not UTF-8).
std::vector<std::string> read_segments(const std::filesystem::path& path);

}  // namespace dtrain::metrics
