// `dtrain inspect`: verify a prepared dataset completely (checksums, every sample's shape) and print
// what it holds.
#include <fmt/format.h>

#include <cstdio>

#include "app/commands.h"
#include "data/dataset/dataset_reader.h"
#include "data/dataset/dataset_validation.h"

namespace dtrain::app {
namespace {

std::string token_id(int32_t id) {
  return id == data::kNoTokenId ? "-" : std::to_string(id);
}

std::string integrity_line(const data::FileIntegrity& integrity) {
  if (!integrity.checksum_header) {
    return "checksum none (format 1: damage cannot always be detected; re-create the file with dtrain "
           "prepare "
           "to add checksums)";
  }
  return fmt::format("checksum sha256 {} of {} bytes: verified", integrity.sha256, integrity.file_size);
}

std::string describe(const data::DatasetInfo& info, const data::ValidationReport& report) {
  std::string text;
  for (const data::StreamSummary& stream : report.streams) {
    const bool target = stream.name == data::kLabels;
    text += fmt::format("stream {}: {} tokens, {} to {} per sample", stream.name, stream.tokens,
                        stream.shortest, stream.longest);
    if (stream.name == data::kTokenTypeIds) text += fmt::format(", {} pairs", report.pairs);
    if (stream.name == data::kInputIds)
      text += fmt::format(", vocab_size {}, vocab sha256 {}", info.vocab_size, info.vocab_sha256);
    if (target)
      text +=
          fmt::format(", vocab_size {}, vocab sha256 {}", info.target_vocab_size, info.target_vocab_sha256);
    text += "\n";
  }
  if (info.task == data::TaskType::classification) {
    text += "labels";
    for (size_t id = 0; id < report.label_counts.size(); ++id) {
      text += fmt::format(" {}={}", id < info.label_names.size() ? info.label_names[id] : std::to_string(id),
                          report.label_counts[id]);
    }
    text += "\n";
  } else if (info.task == data::TaskType::regression) {
    text += fmt::format("targets min {:.4g} max {:.4g}\n", report.target_min, report.target_max);
  }
  return text;
}

const RegisterCommand kInspect([](CLI::App& app) -> std::function<void()> {
  auto* sub =
      app.add_subcommand("inspect",
                         "Verify a prepared HDF5 dataset end to end (checksums, every sample) and print "
                         "its metadata");
  auto path = std::make_shared<std::string>();
  sub->add_option("dataset", *path, "Prepared .h5 file")->required();
  return [path] {
    const data::DatasetReader reader(*path, data::Verification::everything);
    const data::ValidationReport report = data::validate_dataset(reader);
    const data::DatasetInfo& info = reader.info();
    std::string label_names;
    for (const auto& name : info.label_names) label_names += (label_names.empty() ? "" : ",") + name;
    const std::string labels =
        info.task == data::TaskType::translation
            ? ""
            : fmt::format(", {} labels{}{}", info.num_labels, label_names.empty() ? "" : " ", label_names);
    std::string text = fmt::format("{}: format {} v{}, {}{}\nsamples {}, tokens {}, max_length {}", *path,
                                   data::kFormatName, info.format_version, data::task_name(info.task), labels,
                                   info.num_samples, info.total_tokens, info.max_length);
    if (info.task == data::TaskType::translation) {
      text += fmt::format(", target tokens {}, max_target_length {}", info.total_target_tokens,
                          info.max_target_length);
    }
    text += fmt::format("\n{}\n{}", integrity_line(reader.integrity()), describe(info, report));
    text += fmt::format("vocab_size {}, pad/cls/sep/eos {}/{}/{}/{}", info.vocab_size, token_id(info.pad_id),
                        token_id(info.cls_id), token_id(info.sep_id), token_id(info.eos_id));
    if (info.task == data::TaskType::translation)
      text += fmt::format(", decoder_start_token_id {}", info.decoder_start_token_id);
    text += fmt::format("\nsource {} (sha256 {})\ntokenizer {} {}\n", info.source_file, info.source_sha256,
                        info.tokenizer_type, info.tokenizer_settings_json);
    std::fputs(text.c_str(), stdout);
  };
});

}  // namespace
}  // namespace dtrain::app
