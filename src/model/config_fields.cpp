#include "model/config_fields.h"

#include <fstream>

#include "common/error.h"

namespace dtrain::model {

using nlohmann::json;

ConfigFieldReader::ConfigFieldReader(const json& object, std::string source)
    : object_(object), source_(std::move(source)) {
  DTRAIN_CHECK(object.is_object(), "{}: expected a JSON object, got {}", source_, object.type_name());
}

bool ConfigFieldReader::has(const char* field) {
  consumed_.insert(field);
  auto it = object_.find(field);
  return it != object_.end() && !it->is_null();
}

void ConfigFieldReader::read(const char* field, int64_t& value) {
  if (!has(field)) return;
  const json& node = at(field);
  check_type(field, node.is_number_integer(), "an integer");
  value = node.get<int64_t>();
}

void ConfigFieldReader::read(const char* field, double& value) {
  if (!has(field)) return;
  const json& node = at(field);
  check_type(field, node.is_number(), "a number");
  value = node.get<double>();
}

void ConfigFieldReader::read(const char* field, bool& value) {
  if (!has(field)) return;
  const json& node = at(field);
  check_type(field, node.is_boolean(), "true or false");
  value = node.get<bool>();
}

void ConfigFieldReader::read(const char* field, std::string& value) {
  if (!has(field)) return;
  const json& node = at(field);
  check_type(field, node.is_string(), "a string");
  value = node.get<std::string>();
}

void ConfigFieldReader::read(const char* field, std::vector<std::string>& values) {
  if (!has(field)) return;
  const json& node = at(field);
  check_type(field, node.is_array(), "a list of strings");
  values.clear();
  for (const json& item : node) {
    check_type(field, item.is_string(), "a list of strings");
    values.push_back(item.get<std::string>());
  }
}

void ConfigFieldReader::read_required(const char* field, int64_t& value) {
  DTRAIN_CHECK(has(field), "{}: missing required field '{}'", source_, field);
  read(field, value);
}

void ConfigFieldReader::check_type(const char* field, bool ok, const char* expected) const {
  DTRAIN_CHECK(ok, "{}: field '{}' must be {}, got {}", source_, field, expected, at(field).dump());
}

json ConfigFieldReader::unconsumed() const {
  json rest = json::object();
  for (const auto& [key, value] : object_.items()) {
    if (!consumed_.count(key)) rest[key] = value;
  }
  return rest;
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  DTRAIN_CHECK(in, "cannot open {}", path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    DTRAIN_FAIL("{}: not valid JSON: {}", path, e.what());
  }
}

}  // namespace dtrain::model
