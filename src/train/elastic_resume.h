#pragma once
// Resuming on another number of ranks than the checkpoint was saved with (a relaunch after a rank
// failed, launch/mpirun.sh --min-ranks): the data order continues exactly only with the same
// global batch (train_position.h), so keep_global_batch_on_resume adapts the batch geometry.
#include <cstdint>
#include <string>

#include "train/training_arguments.h"

namespace dtrain::train {

// With keep_global_batch_on_resume and a checkpoint to resume from whose global batch G differs
// from per_device_train_batch_size x world_size x gradient_accumulation_steps: sets the
// accumulation a and per-device batch b with b x world_size x a = G, the smallest a whose b does
// not exceed the configured per-device batch (so a micro-batch needs no more memory). Returns a
// line for the log saying what changed; empty when nothing did. Throws dtrain::Error when G is
// not a multiple of world_size.
std::string keep_checkpoint_global_batch(TrainingArguments& args, int64_t world_size);

}  // namespace dtrain::train
