"""The anchor of bench_tokenizer: Hugging Face's Rust tokenizer (the `tokenizers` package, the
reference tests/reference/bert_tokenizer_reference.py checks dtrain against) on the SST-2 training
sentences, without special tokens, one sentence at a time and as one encode_batch; throughput from
the process's CPU time (all threads: run with RAYON_NUM_THREADS=1) and from wall time. Prints the
same lines as the C++ harness.

Usage: RAYON_NUM_THREADS=1 .venv/bin/python benchmarks/tokenizer_reference.py [shared data folder]
"""
import os
import pathlib
import sys
import time

from tokenizers import Tokenizer


def report(name, rows, run):
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    tokens = run()
    clocks = {"cpu": time.process_time() - cpu_start, "wall": time.perf_counter() - wall_start}
    print(f"{name}: rows {rows} tokens {tokens}")
    for clock, seconds in clocks.items():
        print(f"  {clock}: {seconds:.3f} s  tokens/s {tokens / seconds / 1e6:.2f}M  rows/s {rows / seconds / 1e3:.0f}k")


def main():
    shared = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DTRAIN_SHARED_DATA", "../shared/data"))
    tokenizer = Tokenizer.from_file(str(shared / "vocab/bert-base-uncased/tokenizer.json"))
    lines = (shared / "glue/SST-2/train.tsv").read_text(encoding="utf-8").split("\n")[1:]
    sentences = [line.split("\t")[0] for line in lines if line]
    report("one at a time", len(sentences),
           lambda: sum(len(tokenizer.encode(s, add_special_tokens=False)) for s in sentences))
    report("encode_batch", len(sentences),
           lambda: sum(len(e) for e in tokenizer.encode_batch(sentences, add_special_tokens=False)))


if __name__ == "__main__":
    main()
