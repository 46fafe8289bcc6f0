#pragma once
// Typed reading of one JSON config object (config.json, generation_config.json), shared by the
// model families. Torch-free.
//
// Every error names the source and the field ("config.json: field 'd_model' must be an integer, got
// "512""), and the reader remembers which fields it consumed so that the rest can be kept verbatim
// and written back: a load/save round trip loses nothing.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dtrain::model {

class ConfigFieldReader {
 public:
  ConfigFieldReader(const nlohmann::json& object, std::string source);

  // Whether the field is present and not null; either way it counts as consumed.
  bool has(const char* field);
  // Marks a field as understood and dropped: it is neither read nor preserved.
  void drop(const char* field) { consumed_.insert(field); }

  const nlohmann::json& at(const char* field) const { return object_.at(field); }

  // Each read leaves `value` unchanged when the field is absent or null.
  void read(const char* field, int64_t& value);
  void read(const char* field, double& value);
  void read(const char* field, bool& value);
  void read(const char* field, std::string& value);
  void read(const char* field, std::vector<std::string>& values);
  template <typename T>
  void read(const char* field, std::optional<T>& value) {
    if (!has(field)) return;
    T parsed{};
    read(field, parsed);
    value = parsed;
  }
  void read_required(const char* field, int64_t& value);

  // Throws "<source>: field '<field>' must be <expected>, got <value>" unless `ok`.
  void check_type(const char* field, bool ok, const char* expected) const;

  // Every field not consumed, in the order nlohmann keeps (sorted, as Hugging Face writes them).
  nlohmann::json unconsumed() const;

  const std::string& source() const { return source_; }

 private:
  const nlohmann::json& object_;
  std::string source_;
  std::set<std::string> consumed_;
};

// Parses a JSON file; errors name the file ("cannot open ...", "...: not valid JSON: ...").
nlohmann::json read_json_file(const std::string& path);

}  // namespace dtrain::model
