#pragma once
// The configuration of one `dtrain train` run: a YAML file with model, data and training sections,
// plus command-line overrides (`--learning_rate 1e-4` for training keys, `--model.name_or_path X`
// and `--data.train_file Y` for the others). Unknown keys and wrong types are errors naming the key.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "train/training_arguments.h"

namespace dtrain::train {

struct ModelSection {
  std::string name_or_path;  // a Hugging Face folder (config.json + model.safetensors)
  nlohmann::json config;     // or, to train from scratch, config.json fields (object; null if unset)
};

struct DataSection {
  std::string train_file;  // HDF5 made by `dtrain prepare`
  std::string eval_file;
  std::optional<int64_t> pad_to_multiple_of;
  std::string task_name;  // GLUE task (mrpc, sst2, cola, stsb, ...): picks the metrics
  // The tokenizer folder the data was prepared with: its files go into every checkpoint and the final
  // model, so those are complete Hugging Face folders. Optional; must match the dataset's vocabulary.
  std::string tokenizer;
};

struct RunConfig {
  ModelSection model;
  DataSection data;
  TrainingArguments training;

  // Reads `yaml_path` (may be empty: defaults only) and applies `overrides` (the arguments after
  // --config, as "--key value" or "--key=value" pairs). Validates the result.
  static RunConfig load(const std::filesystem::path& yaml_path, const std::vector<std::string>& overrides);

  // The resolved configuration (every key, defaults included) as YAML, loadable by load().
  std::string to_yaml() const;
};

}  // namespace dtrain::train
