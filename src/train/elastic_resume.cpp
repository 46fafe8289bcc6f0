#include "train/elastic_resume.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/error.h"
#include "data/loading/train_position.h"
#include "train/checkpoint.h"

namespace dtrain::train {
namespace fs = std::filesystem;

std::string keep_checkpoint_global_batch(TrainingArguments& args, int64_t world_size) {
  if (!args.keep_global_batch_on_resume || !args.resume_from_checkpoint) return {};
  const std::optional<fs::path> checkpoint = *args.resume_from_checkpoint == "latest"
                                                 ? newest_marked_checkpoint(args.output_dir)
                                                 : std::optional<fs::path>(*args.resume_from_checkpoint);
  if (!checkpoint || !fs::is_regular_file(*checkpoint / "data_position.json"))
    return {};  // resume reports it
  std::ifstream in(*checkpoint / "data_position.json");
  data::TrainPosition position;
  try {
    position = nlohmann::json::parse(in).get<data::TrainPosition>();
  } catch (const nlohmann::json::exception& e) {
    DTRAIN_FAIL("{}: invalid JSON: {}", (*checkpoint / "data_position.json").string(), e.what());
  }
  const int64_t saved = position.global_batch_size;
  const int64_t per_device = args.per_device_train_batch_size,
                accumulation = args.gradient_accumulation_steps;
  if (saved == per_device * world_size * accumulation) return {};
  DTRAIN_CHECK(
      saved % world_size == 0,
      "keep_global_batch_on_resume: {} was trained with global batch {}, which {} ranks cannot share "
      "evenly; resume on a number of ranks that divides it",
      checkpoint->string(), saved, world_size);
  int64_t new_accumulation = 1;
  while (saved % (world_size * new_accumulation) != 0 || saved / (world_size * new_accumulation) > per_device)
    ++new_accumulation;
  args.gradient_accumulation_steps = new_accumulation;
  args.per_device_train_batch_size = saved / (world_size * new_accumulation);
  return fmt::format(
      "keep_global_batch_on_resume: {} was trained with global batch {}; on {} ranks it is kept with "
      "per_device_train_batch_size {} (was {}) and gradient_accumulation_steps {} (was {})",
      checkpoint->string(), saved, world_size, args.per_device_train_batch_size, per_device,
      args.gradient_accumulation_steps, accumulation);
}

}  // namespace dtrain::train
