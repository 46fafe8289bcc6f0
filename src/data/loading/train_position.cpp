#include "data/loading/train_position.h"

#include <nlohmann/json.hpp>
#include <type_traits>

#include "common/error.h"
#include "data/loading/train_sampler.h"

namespace dtrain::data {

TrainPosition initial_position(const TrainSampler& sampler) {
  return {0, 0, sampler.options().seed, sampler.global_batch_size()};
}

int64_t next_step(const TrainSampler& sampler, const TrainPosition& position) {
  DTRAIN_CHECK(position.seed == sampler.options().seed,
               "cannot resume the data order: the checkpoint used seed {} but this run uses seed {}",
               position.seed, sampler.options().seed);
  DTRAIN_CHECK(position.global_batch_size == sampler.global_batch_size(),
               "cannot resume the data order: the checkpoint used a global batch of {} samples but this run "
               "uses {} (per_device_train_batch_size x world size x gradient_accumulation_steps)",
               position.global_batch_size, sampler.global_batch_size());
  const int64_t consumed = position.samples_consumed_in_epoch;
  DTRAIN_CHECK(position.epoch >= 0 && consumed >= 0 && consumed < sampler.samples_per_epoch() &&
                   consumed % sampler.global_batch_size() == 0,
               "cannot resume the data order: epoch {} with {} samples consumed is not a step boundary of "
               "this dataset ({} samples per epoch, global batch {})",
               position.epoch, consumed, sampler.samples_per_epoch(), sampler.global_batch_size());
  return consumed / sampler.global_batch_size();
}

TrainPosition advance(const TrainSampler& sampler, const TrainPosition& position) {
  TrainPosition next = position;
  next.samples_consumed_in_epoch += sampler.step_positions(next_step(sampler, position)).size();
  if (next.samples_consumed_in_epoch == sampler.samples_per_epoch()) {
    ++next.epoch;
    next.samples_consumed_in_epoch = 0;
  }
  return next;
}

void to_json(nlohmann::json& json, const TrainPosition& position) {
  json = {{"epoch", position.epoch},
          {"samples_consumed_in_epoch", position.samples_consumed_in_epoch},
          {"seed", position.seed},
          {"global_batch_size", position.global_batch_size}};
}

void from_json(const nlohmann::json& json, TrainPosition& position) {
  const auto field = [&](const char* name, auto& value) {
    using Value = std::remove_reference_t<decltype(value)>;
    DTRAIN_CHECK(json.is_object() && json.contains(name) && json.at(name).is_number_integer(),
                 "data position in checkpoint: missing or non-integer field '{}' in {}", name, json.dump());
    value = json.at(name).get<Value>();
  };
  field("epoch", position.epoch);
  field("samples_consumed_in_epoch", position.samples_consumed_in_epoch);
  field("seed", position.seed);
  field("global_batch_size", position.global_batch_size);
}

}  // namespace dtrain::data
