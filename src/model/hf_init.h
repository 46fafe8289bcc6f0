#pragma once
// transformers' _init_weights for the modules its BERT and Marian models are built from, with a
// private generator so the weights depend only on the seed (not on the device or on other draws).
#include <cstdint>

namespace torch::nn {
class Module;
}

namespace dtrain::model {

// Every Linear and Embedding weight below `root` ~ N(0, std) (drawn on the CPU in module order),
// Linear biases and an Embedding's padding row zero, LayerNorm weight 1 and bias 0.
void init_weights_like_hf(torch::nn::Module& root, double std, uint64_t seed);

}  // namespace dtrain::model
