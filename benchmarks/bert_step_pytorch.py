"""PyTorch eager counterpart of bench_bert_step_torch: forward+backward per batch (no optimizer step).

The model is tests/model/reference_bert.py's BERT built from nn.TransformerEncoderLayer, in training
mode with dropout 0.1, on the same shapes, batch and thread count as the C++ benchmark.
Usage: .venv/bin/python benchmarks/bert_step_pytorch.py [SHAPE[:ITERATIONS]]...   (tiny, mini, base)
"""
import pathlib
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "model"))
from reference_bert import ReferenceBert  # noqa: E402

BATCH_SIZE, SEQ_LENGTH, THREADS = 32, 128, 2
# name: (layers, hidden, heads, intermediate, warmup, iterations), as in bert_step_torch.cpp.
SHAPES = {
    "tiny": (2, 128, 2, 512, 3, 20),
    "mini": (4, 256, 4, 1024, 2, 10),
    "base": (12, 768, 12, 3072, 1, 3),
}


def run(name, iterations=None):
    layers, hidden, heads, intermediate, warmup, default_iterations = SHAPES[name]
    iterations = iterations or default_iterations
    config = {"vocab_size": 30522, "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": intermediate, "num_labels": 2}
    model = ReferenceBert(config, dropout=0.1)
    for layer in model.layers:
        layer.dropout = nn.Identity()  # BERT has no dropout between the two feed-forward linears
    model.train()
    input_ids = torch.randint(1, config["vocab_size"], (BATCH_SIZE, SEQ_LENGTH))
    attention_mask = torch.ones(BATCH_SIZE, SEQ_LENGTH, dtype=torch.long)
    token_type_ids = torch.zeros(BATCH_SIZE, SEQ_LENGTH, dtype=torch.long)
    labels = torch.randint(0, 2, (BATCH_SIZE,))
    wall_milliseconds, cpu_milliseconds = [], []
    for step in range(warmup + iterations):
        start, cpu_start = time.perf_counter(), time.process_time()
        model.zero_grad(set_to_none=True)
        model.loss(model(input_ids, attention_mask, token_type_ids), labels).backward()
        if step >= warmup:
            wall_milliseconds.append((time.perf_counter() - start) * 1000)
            cpu_milliseconds.append((time.process_time() - cpu_start) * 1000)
    print(f"pytorch {name:<5} batch {BATCH_SIZE}x{SEQ_LENGTH} threads {torch.get_num_threads()}: "
          f"median {statistics.median_high(wall_milliseconds):.1f} ms, min {min(wall_milliseconds):.1f} ms, "
          f"cpu {statistics.median_high(cpu_milliseconds):.1f} ms over {len(wall_milliseconds)} steps")


if __name__ == "__main__":
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    for request in sys.argv[1:] or list(SHAPES):
        name, _, count = request.partition(":")
        run(name, int(count) if count else None)
