"""Reference for tests/train/adamw_test.cpp: torch.optim.AdamW on parameters and gradients that
the C++ test builds from the same formulas. Prints the parameters after the last step as JSON."""
import argparse
import json
import math

import torch

SHAPES = {
    "encoder.dense.weight": (4, 3),
    "encoder.dense.bias": (4,),
    "encoder.LayerNorm.weight": (3,),
    "classifier.weight": (2, 4),
}
DECAYED = {"encoder.dense.weight", "classifier.weight"}
SKIPPED = ("classifier.weight", 1)  # this parameter has no gradient at this step


def values(count, phase, frequency):
    return torch.tensor([math.sin(frequency * i + phase) for i in range(count)], dtype=torch.float64).float()


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--lr", "--beta1", "--beta2", "--eps", "--weight-decay"):
        parser.add_argument(flag, type=float, required=True)
    parser.add_argument("--steps", type=int, required=True)
    args = parser.parse_args()

    params = {}
    for k, (name, shape) in enumerate(SHAPES.items()):
        params[name] = values(math.prod(shape), k, 0.37).reshape(shape).requires_grad_()
    groups = [
        {"params": [p for n, p in params.items() if n in DECAYED], "weight_decay": args.weight_decay},
        {"params": [p for n, p in params.items() if n not in DECAYED], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps)
    for step in range(args.steps):
        for k, (name, p) in enumerate(params.items()):
            skip = (name, step) == SKIPPED
            p.grad = None if skip else values(p.numel(), k + 0.5 * step, 0.11 * (step + 1)).reshape(p.shape)
        for group in optimizer.param_groups:
            group["lr"] = args.lr * (1.0 - 0.1 * step)
        optimizer.step()
    print(json.dumps({name: p.detach().reshape(-1).tolist() for name, p in params.items()}))


if __name__ == "__main__":
    main()
