"""The PyTorch DDP anchor for dtrain's training benchmarks: the same BERT shapes, data, batch and
optimizer, trained by torch.nn.parallel.DistributedDataParallel over gloo.

Launch it the way dtrain is launched (one process per rank), with Debian's python3:
  mpirun -np 2 --bind-to none -x OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ddp_reference.py \
      --config-json model.json --train data/sst2/train.h5 --eval data/sst2/dev.h5 --max-steps 200
The model is tests/model/reference_bert.py's nn.TransformerEncoderLayer BERT (Hugging Face
architecture); the optimizer is torch.optim.AdamW with Trainer's no-decay grouping and linear
warmup/decay. Rank 0 prints one JSON line: samples/s and tokens/s over the timed steps (after
--warmup-steps), the final training loss and, with --eval, the dev accuracy.
"""
import argparse
import json
import math
import os
import pathlib
import sys
import time

import h5py
import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "model"))
from reference_bert import ReferenceBert  # noqa: E402


@torch.no_grad()
def init_like_hugging_face(model, initializer_range):
    """BertPreTrainedModel._init_weights: N(0, initializer_range) weights, zero biases and padding
    row, LayerNorm ones/zeros -- the initialisation dtrain uses, so both start from the same law."""
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.weight.normal_(0.0, initializer_range)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, torch.nn.MultiheadAttention):
            module.in_proj_weight.normal_(0.0, initializer_range)
            module.in_proj_bias.zero_()
        elif isinstance(module, torch.nn.Embedding):
            module.weight.normal_(0.0, initializer_range)
            if module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
        elif isinstance(module, torch.nn.LayerNorm):
            module.weight.fill_(1.0)
            module.bias.zero_()


def read_dataset(path):
    with h5py.File(path, "r") as f:
        return f["input_ids"][:], f["token_type_ids"][:], f["offsets"][:], f["labels"][:]


def collate(data, indices):
    input_ids, token_types, offsets, labels = data
    lengths = [offsets[i + 1] - offsets[i] for i in indices]
    width = max(lengths)
    ids = torch.zeros(len(indices), width, dtype=torch.long)
    types = torch.zeros(len(indices), width, dtype=torch.long)
    mask = torch.zeros(len(indices), width, dtype=torch.long)
    for row, (i, n) in enumerate(zip(indices, lengths)):
        ids[row, :n] = torch.from_numpy(input_ids[offsets[i]:offsets[i] + n].astype(np.int64))
        types[row, :n] = torch.from_numpy(token_types[offsets[i]:offsets[i] + n].astype(np.int64))
        mask[row, :n] = 1
    return ids, mask, types, torch.from_numpy(labels[indices].astype(np.int64)), int(sum(lengths))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config-json", required=True, help="Hugging Face config.json fields of the model")
    parser.add_argument("--train", required=True)
    parser.add_argument("--eval")
    parser.add_argument("--per-device-batch", type=int, default=32)
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--warmup-steps", type=int, default=20, help="steps excluded from the timing")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--warmup-ratio", type=float, default=0.1)
    parser.add_argument("--fp16-allreduce", action="store_true", help="DDP's fp16_compress_hook")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("RANK", 0)))
    world = int(os.environ.get("OMPI_COMM_WORLD_SIZE", os.environ.get("WORLD_SIZE", 1)))
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29511")
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", max(1, os.cpu_count() // world))))

    config = json.loads(pathlib.Path(args.config_json).read_text())
    torch.manual_seed(args.seed)
    model = ReferenceBert(config, dropout=config.get("hidden_dropout_prob", 0.1))
    init_like_hugging_face(model, config.get("initializer_range", 0.02))
    ddp = DistributedDataParallel(model, bucket_cap_mb=25)
    if args.fp16_allreduce:
        ddp.register_comm_hook(state=None, hook=default_hooks.fp16_compress_hook)
    no_decay = lambda name: "bias" in name or "norm" in name.lower()
    groups = [
        {"params": [p for n, p in model.named_parameters() if not no_decay(n)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if no_decay(n)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    warmup = math.ceil(args.warmup_ratio * args.max_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (args.max_steps - s) / max(1, args.max_steps - warmup)))

    train = read_dataset(args.train)
    num_samples = len(train[3])
    global_batch = args.per_device_batch * world
    generator = torch.Generator().manual_seed(args.seed)
    order, cursor, epoch = torch.randperm(num_samples, generator=generator).tolist(), 0, 0
    samples = tokens = 0
    losses = []
    model.train()
    for step in range(args.max_steps):
        if step == args.warmup_steps:
            dist.barrier()
            start, samples, tokens = time.perf_counter(), 0, 0
        if cursor + global_batch > num_samples:
            order, cursor, epoch = torch.randperm(num_samples, generator=generator).tolist(), 0, epoch + 1
        batch = order[cursor + rank * args.per_device_batch:cursor + (rank + 1) * args.per_device_batch]
        cursor += global_batch
        ids, mask, types, labels, n_tokens = collate(train, batch)
        loss = F.cross_entropy(ddp(ids, mask, types), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        samples += global_batch
        tokens += n_tokens * world
        losses.append(loss.item())
    dist.barrier()
    seconds = time.perf_counter() - start

    result = {"ranks": world, "per_device_batch": args.per_device_batch, "steps_timed": args.max_steps - args.warmup_steps,
              "samples_per_second": samples / seconds, "tokens_per_second": tokens / seconds,
              "final_loss": float(np.mean(losses[-20:])), "fp16_allreduce": args.fp16_allreduce}
    if args.eval and rank == 0:
        model.eval()
        data = read_dataset(args.eval)
        correct = 0
        with torch.no_grad():
            for begin in range(0, len(data[3]), 128):
                ids, mask, types, labels, _ = collate(data, list(range(begin, min(begin + 128, len(data[3])))))
                correct += int((model(ids, mask, types).argmax(-1) == labels).sum())
        result["eval_accuracy"] = correct / len(data[3])
    if rank == 0:
        print(json.dumps(result), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
