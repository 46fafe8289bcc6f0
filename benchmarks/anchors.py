"""Anchors for benchmarks/run_all.sh, measured in the same run as dtrain's harnesses (DTRAIN_PYTHON,
default .venv/bin/python: the torch whose LibTorch dtrain links, h5py):

  anchors.py reader FILE.h5             h5py reading random batches of 32 samples of a prepared
                                        dataset (per-sample slices via /offsets, padded to numpy):
                                        the anchor of bench_prepare's reader rows
  mpirun -np 2 anchors.py allreduce MB  torch.distributed (gloo) all_reduce of fp16 and fp32 tensors
                                        up to MB MiB: the anchor of bench_allreduce_torch
  anchors.py peak PROCESSES             the matrix-product peak MFU divides by: FLOP/s of a 1024 x 1024
                                        fp32 (and bf16) product in PROCESSES concurrent processes of
                                        one thread each, best of repetitions over about 0.25 s, as
                                        dtrain measures it at start-up (train/device.h)
  anchors.py marian FOLDER SRC TGT      transformers' MarianTokenizer (DTRAIN_PYTHON's environment) on a
                                        Marian folder: tokenizer(sources, text_target=targets) and
                                        batch_decode(labels, skip_special_tokens=True), median of 3 runs;
                                        and SentencePiece's own encode of the same text (pieces only):
                                        the anchors of bench_marian_tokenizer

Each prints one JSON line.
"""
import json
import os
import sys
import time

import numpy as np


def reader(path, batches=2000, batch_size=32):
    import h5py
    with h5py.File(path, "r") as f:
        offsets = f["offsets"][:]
        input_ids, token_types = f["input_ids"], f["token_type_ids"]
        order = np.random.default_rng(1).permutation(len(offsets) - 1)
        batches = min(batches, len(order) // batch_size)
        start = time.perf_counter()
        for b in range(batches):
            rows = order[b * batch_size:(b + 1) * batch_size]
            width = int(max(offsets[i + 1] - offsets[i] for i in rows))
            ids = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, :offsets[i + 1] - offsets[i]] = input_ids[offsets[i]:offsets[i + 1]]
                types[r, :offsets[i + 1] - offsets[i]] = token_types[offsets[i]:offsets[i + 1]]
        seconds = time.perf_counter() - start
    print(json.dumps({"anchor": "h5py reader", "batch_size": batch_size, "batches": batches,
                      "samples_per_second": batches * batch_size / seconds}))


def allreduce(max_mb):
    import torch
    import torch.distributed as dist
    rank = int(os.environ["OMPI_COMM_WORLD_RANK"])
    world = int(os.environ["OMPI_COMM_WORLD_SIZE"])
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29512")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results = []
    size = 4096
    while size <= max_mb << 20:
        for dtype, name in ((torch.float16, "half"), (torch.float32, "float")):
            tensor = torch.full((size // torch.tensor([], dtype=dtype).element_size(),), 1e-4, dtype=dtype)
            iterations = max(3, min(200, (1 << 30) // size))
            dist.all_reduce(tensor)
            dist.barrier()
            start = time.perf_counter()
            for _ in range(iterations):
                dist.all_reduce(tensor)
            dist.barrier()
            seconds = (time.perf_counter() - start) / iterations
            algbw = size / seconds / 1e9
            results.append({"bytes": size, "type": name, "busbw": algbw * 2 * (world - 1) / world})
        size *= 4
    if rank == 0:
        print(json.dumps({"anchor": "gloo all_reduce", "ranks": world, "results": results}))
    dist.destroy_process_group()


def matmul_peak(dtype_name, start, results):
    import torch
    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    n = 1024
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    c = torch.empty(n, n, dtype=dtype)
    torch.mm(a, b, out=c)  # warm-up
    start.wait()
    best, total, repeat = float("inf"), 0.0, 0
    while repeat < 20 and (repeat < 2 or total < 0.2):
        begin = time.perf_counter()
        torch.mm(a, b, out=c)
        seconds = time.perf_counter() - begin
        best, total, repeat = min(best, seconds), total + seconds, repeat + 1
    results.put(2 * n ** 3 / best)


def peak(processes):
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    result = {"anchor": "matmul peak, 1024 x 1024, one thread per process", "processes": processes}
    for dtype_name in ("float32", "bfloat16"):
        start, results = context.Barrier(processes), context.Queue()
        workers = [context.Process(target=matmul_peak, args=(dtype_name, start, results)) for _ in range(processes)]
        for worker in workers:
            worker.start()
        rates = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
        result[dtype_name] = {"per_process": rates, "total": sum(rates)}
    print(json.dumps(result))


def marian(folder, source_file, target_file, repeats=3):
    import statistics
    import warnings

    import sentencepiece
    from transformers import MarianTokenizer

    warnings.filterwarnings("ignore")
    tokenizer = MarianTokenizer.from_pretrained(folder)
    with open(source_file, encoding="utf-8") as f:
        sources = f.read().split("\n")[:-1]
    with open(target_file, encoding="utf-8") as f:
        targets = f.read().split("\n")[:-1]

    def timed(work):
        cpu, wall = [], []
        for _ in range(repeats):
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            result = work()
            cpu.append(time.process_time() - cpu_start)
            wall.append(time.perf_counter() - wall_start)
        return statistics.median(cpu), statistics.median(wall), result

    encode_cpu, encode_wall, encoded = timed(lambda: tokenizer(sources, text_target=targets))
    tokens = sum(map(len, encoded["input_ids"])) + sum(map(len, encoded["labels"]))
    decode_cpu, decode_wall, _ = timed(lambda: tokenizer.batch_decode(encoded["labels"], skip_special_tokens=True))
    source_spm = sentencepiece.SentencePieceProcessor(model_file=os.path.join(folder, "source.spm"))
    target_spm = sentencepiece.SentencePieceProcessor(model_file=os.path.join(folder, "target.spm"))
    spm_cpu, spm_wall, _ = timed(lambda: (source_spm.encode(sources, out_type=str, num_threads=1),
                                          target_spm.encode(targets, out_type=str, num_threads=1)))
    print(json.dumps({"anchor": "transformers MarianTokenizer", "pairs": len(sources), "tokens": tokens,
                      "encode_cpu_s": encode_cpu, "encode_wall_s": encode_wall,
                      "decode_cpu_s": decode_cpu, "decode_wall_s": decode_wall,
                      "sentencepiece_encode_cpu_s": spm_cpu, "sentencepiece_encode_wall_s": spm_wall,
                      "sentencepiece": sentencepiece.__version__}))


if __name__ == "__main__":
    {"reader": lambda: reader(sys.argv[2]), "allreduce": lambda: allreduce(int(sys.argv[2])),
     "peak": lambda: peak(int(sys.argv[2])),
     "marian": lambda: marian(*sys.argv[2:5])}[sys.argv[1]]()
