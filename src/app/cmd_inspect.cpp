// `dtrain inspect`: validate a prepared dataset completely and print what it holds.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "app/commands.h"
#include "data/dataset/dataset_reader.h"

namespace dtrain::app {
namespace {

// Samples per read while validating: bounded memory on large datasets.
constexpr int64_t kSamplesPerRead = 8192;

const RegisterCommand kInspect([](CLI::App& app) -> std::function<void()> {
  auto* sub =
      app.add_subcommand("inspect", "Check a prepared HDF5 dataset end to end and print its metadata");
  auto path = std::make_shared<std::string>();
  sub->add_option("dataset", *path, "Prepared .h5 file")->required();
  return [path] {
    const data::DatasetReader reader(*path);
    // Reading every sample checks each token id against the vocabulary.
    for (int64_t first = 0; first < reader.num_samples(); first += kSamplesPerRead) {
      std::vector<int64_t> indices(std::min(kSamplesPerRead, reader.num_samples() - first));
      std::iota(indices.begin(), indices.end(), first);
      static_cast<void>(reader.read(indices));
    }
    const data::DatasetInfo& info = reader.info();
    std::string label_names;
    for (const auto& name : info.label_names) label_names += (label_names.empty() ? "" : ",") + name;
    std::printf(
        "%s: format %s v%d, %s, %d labels%s%s\n"
        "samples %lld, tokens %lld, max_length %d\n"
        "vocab_size %d, pad/cls/sep %d/%d/%d, vocab sha256 %s\n"
        "source %s (sha256 %s)\ntokenizer %s\n",
        path->c_str(), data::kFormatName, info.format_version, data::task_name(info.task), info.num_labels,
        label_names.empty() ? "" : " ", label_names.c_str(), static_cast<long long>(info.num_samples),
        static_cast<long long>(info.total_tokens), info.max_length, info.vocab_size, info.pad_id, info.cls_id,
        info.sep_id, info.vocab_sha256.c_str(), info.source_file.c_str(), info.source_sha256.c_str(),
        info.tokenizer_settings_json.c_str());
  };
});

}  // namespace
}  // namespace dtrain::app
