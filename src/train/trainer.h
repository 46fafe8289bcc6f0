#pragma once
// The training loop: each rank trains on its share of every global batch, gradients are averaged
// at the accumulation boundary by the gradient reducer, and every rank steps the optimizer in
// lockstep. Rank 0 logs, evaluates into metrics, writes checkpoints (checkpoint.h) and the final
// model; a run resumes from a checkpoint and stops cleanly on a preemption signal (preemption.h).
#include <memory>

#include "train/run_config.h"

namespace dtrain::dist {
class ProcessGroup;
}

namespace dtrain::train {

class PreemptionWatch;

class Trainer {
 public:
  // `preemption` is owned by the caller so that it covers the whole process: a notice arriving
  // after the last step (during the final save or MPI's teardown) must not kill a finished job.
  Trainer(RunConfig config, const dist::ProcessGroup& group, const PreemptionWatch& preemption);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains for num_train_epochs (or max_steps), or until early stopping, then saves the model (the
  // best one with load_best_model_at_end) to output_dir. Returns early, with every rank's state in
  // a checkpoint, when a rank received SIGTERM or SIGUSR1.
  void train();

 private:
  struct State;  // the model, data, optimizer and bookkeeping: kept out of this header (torch)
  std::unique_ptr<State> state_;
};

}  // namespace dtrain::train
