#include "model/hf_init.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace dtrain::model {
namespace {

// Draws N(0, std) on the CPU with `generator` and copies it to wherever `parameter` lives.
void fill_normal(at::Tensor& parameter, double std, at::Generator& generator) {
  at::Tensor values = at::empty(parameter.sizes(), parameter.options().device(at::kCPU));
  values.normal_(0.0, std, generator);
  parameter.copy_(values);
}

}  // namespace

void init_weights_like_hf(torch::nn::Module& root, double std, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::Generator generator = at::detail::createCPUGenerator(seed);
  for (const auto& module : root.modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::LinearImpl>()) {
      fill_normal(linear->weight, std, generator);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* embedding = module->as<torch::nn::EmbeddingImpl>()) {
      fill_normal(embedding->weight, std, generator);
      if (auto padding_idx = embedding->options.padding_idx()) embedding->weight[*padding_idx].zero_();
    } else if (auto* layer_norm = module->as<torch::nn::LayerNormImpl>()) {
      layer_norm->weight.fill_(1.0);
      layer_norm->bias.zero_();
    }
  }
}

}  // namespace dtrain::model
