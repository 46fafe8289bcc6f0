#pragma once
// Model FLOPs of a training step (forward + backward matrix products), for model FLOP/s and MFU in
// log.jsonl. Each model family counts its own (bert/bert_flops.h); torch-free.
namespace dtrain::model {

struct TrainingFlops {
  double real = 0;    // each sample at its own length: the work the model must do
  double padded = 0;  // at the batch's padded length: the work the matrix products actually did
  TrainingFlops& operator+=(const TrainingFlops& other) {
    real += other.real, padded += other.padded;
    return *this;
  }
};

}  // namespace dtrain::model
