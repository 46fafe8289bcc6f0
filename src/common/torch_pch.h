#pragma once
// Precompiled header for the LibTorch-using targets: the narrowest headers that cover tensors,
// autograd and nn modules. Keep <torch/torch.h> (which drags in everything) out of the project.
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/types.h>
