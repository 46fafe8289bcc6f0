"""Writes benchmarks/results/<date>.md from the raw outputs of benchmarks/run_all.sh (WORK/raw and
the dtrain runs' log.jsonl) and puts its summary into benchmarks/README.md between the markers
`<!-- run_all: begin -->` and `<!-- run_all: end -->` (added under the title when absent).
"""
import argparse
import datetime
import functools
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys

BEGIN, END = "<!-- run_all: begin -->", "<!-- run_all: end -->"


def fail(message):
    sys.exit(f"results_report: {message}")


def number(text):
    """'10.70M' -> 10.7e6, '945k' -> 945e3, '0.44' -> 0.44."""
    scale = {"k": 1e3, "M": 1e6}.get(text[-1], 1)
    return float(text.rstrip("kM")) * scale


PHASES = ("data", "forward", "backward", "comm_wait", "optimizer")


def dtrain_run(run_dir):
    """Throughput, model FLOPs and the step-time split over the log windows after the first (start-up)."""
    entries = map(json.loads, (run_dir / "log.jsonl").read_text().splitlines())
    windows = [e for e in entries if "samples_per_second" in e]
    if len(windows) < 2:
        fail(f"{run_dir}/log.jsonl has {len(windows)} log windows")
    timed = windows[1:]
    return {"samples_per_second": statistics.mean(w["samples_per_second"] for w in timed),
            "tokens_per_second": statistics.mean(w["tokens_per_second"] for w in timed),
            "flops_per_sample": statistics.mean(w["model_flops_per_second"] / w["samples_per_second"] for w in timed),
            "padding_share": statistics.mean(w["padding_flops_share"] for w in timed),
            "step_seconds": {p: statistics.mean(w["step_seconds"][p] for w in timed) for p in PHASES},
            "final_loss": windows[-1]["loss"]}


def trainer_run(work, raw, name):
    summary = json.loads((raw / f"{name}-trainer.json").read_text())
    history = json.loads((work / f"{name}-trainer" / "log_history.json").read_text())
    return {"samples_per_second": summary["timed_samples_per_second"],
            "final_loss": [e for e in history if "loss" in e][-1]["loss"]}


def model_flops_utilisation(samples_per_second, flops_per_sample, peak):
    return samples_per_second * flops_per_sample / peak


def peaks(raw):
    """fp32 and bf16 matrix-product peaks (FLOP/s, all processes) at 1 and 2 processes."""
    result = {}
    for ranks in (1, 2):
        measured = json.loads((raw / f"peak-np{ranks}.json").read_text())
        result[ranks] = {dtype: measured[dtype]["total"] for dtype in ("float32", "bfloat16")}
    return result


# name prefix -> (description, ranks, precision, has a DDP anchor)
SETTINGS = [("tiny-np1", "BERT-tiny, SST-2, batch 32 per rank, 1 rank", 1, "fp32", True),
            ("tiny-np2", "BERT-tiny, SST-2, batch 32 per rank, 2 ranks", 2, "fp32", True),
            ("minilm-np1", "all-MiniLM-L6-v2, MRPC, batch 8 per rank, 1 rank", 1, "fp32", False),
            ("minilm-np2", "all-MiniLM-L6-v2, MRPC, batch 8 per rank, 2 ranks", 2, "fp32", False),
            ("minilm-bf16-np2", "all-MiniLM-L6-v2, MRPC, bf16, batch 8 per rank, 2 ranks", 2, "bf16", False)]


def training(work, raw, peak):
    rows = []
    for prefix, description, ranks, precision, has_ddp in SETTINGS:
        names = sorted(p.name[:-len("-dtrain")] for p in work.glob(f"{prefix}-r*-dtrain") if p.is_dir())
        if not names:
            fail(f"no {prefix} runs in {work}")
        ours = [dtrain_run(work / f"{name}-dtrain") for name in names]
        theirs = [trainer_run(work, raw, name) for name in names]
        ddp = [json.loads((raw / f"{name}-ddp.json").read_text()) for name in names] if has_ddp else []
        flops_per_sample = statistics.mean(r["flops_per_sample"] for r in ours)
        fp32_peak = peak[ranks]["float32"]
        # Bound now: a closure would read the last setting's FLOPs and peak when the report is written.
        mfu = functools.partial(model_flops_utilisation, flops_per_sample=flops_per_sample, peak=fp32_peak)
        rows.append({"prefix": prefix, "description": description, "ranks": ranks, "precision": precision,
                     "repeats": len(names), "dtrain": [r["samples_per_second"] for r in ours],
                     "trainer": [r["samples_per_second"] for r in theirs],
                     "ddp": [r["samples_per_second"] for r in ddp],
                     "flops_per_sample": flops_per_sample, "mfu": mfu,
                     "padding_share": statistics.mean(r["padding_share"] for r in ours),
                     "step_seconds": {p: statistics.mean(r["step_seconds"][p] for r in ours) for p in PHASES},
                     "dtrain_loss": statistics.mean(r["final_loss"] for r in ours),
                     "trainer_loss": statistics.mean(r["final_loss"] for r in theirs),
                     "ddp_loss": statistics.mean(r["final_loss"] for r in ddp) if ddp else None})
    return rows


def allreduce(raw):
    ours = {}
    for line in (raw / "allreduce.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) == 6 and cells[0].isdigit():
            ours[(int(cells[0]), cells[2])] = float(cells[5])
    gloo_results = json.loads((raw / "allreduce-gloo.json").read_text())["results"]
    gloo = {(r["bytes"], r["type"]): r["busbw"] for r in gloo_results}
    largest = max(size for size, _ in ours)
    return largest, {t: (ours[(largest, t)], gloo[(largest, t)]) for t in ("half", "float")}


def loader(raw):
    result = {}
    for ranks in (1, 2):
        for line in (raw / f"loader-np{ranks}.txt").read_text().splitlines():
            match = re.match(r"(\w+)\s+ranks=\d+ .* best (\d+), mean (\d+)", line)
            if match:
                result[(match[1], ranks)] = (int(match[2]), int(match[3]))
    return result


def tokenizer(raw):
    ours = re.search(r"cpu\s*:.*tokens/s ([\d.]+[kM]?)\s+rows/s ([\d.]+[kM]?)",
                     (raw / "tokenizer.txt").read_text())
    rust = (raw / "tokenizer-rust.txt").read_text()
    batch = rust[rust.index("encode_batch"):]
    rust_cpu = re.search(r"cpu:.*tokens/s ([\d.]+[kM]?)", batch)
    rust_wall_rows = re.search(r"wall:.*rows/s ([\d.]+[kM]?)", batch)
    return number(ours[1]), number(rust_cpu[1]), number(rust_wall_rows[1])


def prepare(raw):
    text = (raw / "prepare.md").read_text()
    row = re.compile(r"\| prepare [^|]*\| (\d+) \| [\d.]+ \| ([\d.]+) \|")  # threads, seconds, rows/s
    prepare_rows = {int(m[1]): float(m[2]) for m in row.finditer(text)}
    reader = re.search(r"next \d+ batches \| ([\d.]+)", text)
    h5py = json.loads((raw / "reader-h5py.json").read_text())["samples_per_second"]
    return prepare_rows, float(reader[1]), h5py


def machine(raw):
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                   platform.machine())
    loads = [line.split() for line in (raw / "loadavg.txt").read_text().splitlines()]
    one_minute = [float(l[0]) for l in loads]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {platform.node()}; commit {commit}; load average (1 min) "
            f"{min(one_minute):.1f}-{max(one_minute):.1f} during the run, sampled {len(loads)} times "
            f"(the machine is shared with other engineers' builds)")


def ratio(a, b):
    return f"{a / b:.2f}×"


def fmt(values, digits=0):
    return ", ".join(f"{v:,.{digits}f}" for v in values)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=pathlib.Path, required=True)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    parser.add_argument("--readme", type=pathlib.Path, required=True)
    args = parser.parse_args()
    raw = args.work / "raw"
    # When the run ended: run_all.sh samples the load average last.
    now = datetime.datetime.fromtimestamp((raw / "loadavg.txt").stat().st_mtime, datetime.timezone.utc)

    peak = peaks(raw)
    train = training(args.work, raw, peak)
    size, busbw = allreduce(raw)
    loads = loader(raw)
    ours_tok, rust_tok, rust_rows_wall = tokenizer(raw)
    prepare_rows, reader_ours, reader_h5py = prepare(raw)

    summary = [f"{now:%Y-%m-%d %H:%M} UTC, {machine(raw)}. One thread per process for dtrain and the anchors; "
               f"MFU against the machine's fp32 matrix-product peak measured at the start of the run with the "
               f"same torch ({peak[1]['float32'] / 1e9:.1f} GFLOP/s with 1 process, "
               f"{peak[2]['float32'] / 1e9:.1f} with 2). Produced by `bash benchmarks/run_all.sh`; details and raw "
               f"outputs in [results/{args.output.name}](results/{args.output.name}).", "",
               "| benchmark | dtrain | anchor (same run) | dtrain / anchor |", "|---|---:|---:|---:|"]
    for row in train:
        ours = statistics.median(row["dtrain"])
        anchors = [("Hugging Face Trainer", statistics.median(row["trainer"]))]
        if row["ddp"]:
            anchors.append(("PyTorch DDP", statistics.median(row["ddp"])))
        for anchor, theirs in anchors:
            summary.append(f"| training {row['description']}: samples/s (median of {row['repeats']}), MFU | "
                           f"{ours:,.1f} ({row['mfu'](ours):.1%}) | {anchor} {theirs:,.1f} "
                           f"({row['mfu'](theirs):.1%}) | {ratio(ours, theirs)} |")
    for kind, label in (("half", "fp16"), ("float", "fp32")):
        ours, theirs = busbw[kind]
        summary.append(f"| all-reduce {size >> 20} MiB {label}, 2 ranks: busbw GB/s | {ours:.3f} | "
                       f"gloo {theirs:.3f} | {ratio(ours, theirs)} |")
    summary.append(f"| tokenizer, SST-2 train, 1 thread: tokens per CPU second | {ours_tok / 1e6:.2f}M | "
                   f"`tokenizers` encode_batch {rust_tok / 1e6:.2f}M | {ratio(ours_tok, rust_tok)} |")
    summary.append(f"| prepare SST-2 train (tokenize + HDF5), 1 thread: rows/s | {prepare_rows[1]:,.0f} | "
                   f"`tokenizers` encode_batch alone (wall) {rust_rows_wall:,.0f} | "
                   f"{ratio(prepare_rows[1], rust_rows_wall)} |")
    summary.append(f"| reader, random batches of 32 (SST-2 train.h5): samples/s | {reader_ours:,.0f} | h5py "
                   f"{reader_h5py:,.0f} | {ratio(reader_ours, reader_h5py)} |")
    for ranks in (1, 2):
        best, mean = loads[("train", ranks)]
        summary.append(f"| loader, shuffled training batches, {ranks} rank(s): samples/s per rank, "
                       f"best (mean) | {best:,} ({mean:,}) | - | - |")

    details = ["## Training: dtrain vs Hugging Face Trainer and PyTorch DDP", "",
               "Each setting starts dtrain and Trainer (tests/reference/hf_trainer.py, transformers' "
               "BertForSequenceClassification; torchrun with gloo at 2 processes) from the same weights "
               "(BERT-tiny: drawn by transformers; MiniLM: all-MiniLM-L6-v2, whose new classifier each side "
               "draws itself) on the same sample order (--order dtrain), so both run the same batches and "
               "the same FLOPs; AdamW, weight decay 0.01, 10% linear warmup, BERT-tiny lr 5e-4, MiniLM lr 5e-5. "
               "dtrain all-reduces in fp16 (its default), Trainer in fp32 (gloo). The PyTorch DDP script "
               "(benchmarks/ddp_reference.py: nn.TransformerEncoderLayer BERT, its own initialisation and "
               "shuffle, fp16 compress hook) runs the BERT-tiny settings. The first sixth of every run's "
               "steps is left out of the timing. Runs interleaved: dtrain, Trainer, DDP for each setting and "
               "repeat. Loss: mean of the last log window (same window and batches on both sides).", "",
               "| setting | dtrain samples/s (each run) | Trainer samples/s | DDP samples/s | dtrain / Trainer | "
               "MFU dtrain / Trainer | final loss dtrain / Trainer / DDP |",
               "|---|---|---|---|---:|---|---|"]
    for row in train:
        ours, theirs = statistics.median(row["dtrain"]), statistics.median(row["trainer"])
        ddp_loss = f" / {row['ddp_loss']:.3f}" if row["ddp_loss"] is not None else ""
        details.append(f"| {row['description']} | {fmt(row['dtrain'], 1)} | {fmt(row['trainer'], 1)} | "
                       f"{fmt(row['ddp'], 1) if row['ddp'] else '-'} | {ratio(ours, theirs)} | "
                       f"{row['mfu'](ours):.1%} / {row['mfu'](theirs):.1%} | "
                       f"{row['dtrain_loss']:.3f} / {row['trainer_loss']:.3f}{ddp_loss} |")
    details += ["", "Where dtrain's time goes (mean seconds per optimizer step over the timed windows, and the "
                "share of the matrix-product FLOPs spent on padding):", "",
                "| setting | model GFLOP per sample | padding share | data | forward | backward | comm wait | "
                "optimizer |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in train:
        split = " | ".join(f"{row['step_seconds'][p] * 1e3:.1f} ms" for p in PHASES)
        details.append(f"| {row['description']} | {row['flops_per_sample'] / 1e9:.2f} | "
                       f"{row['padding_share']:.1%} | {split} |")
    details += ["", "Matrix-product peak (anchors.py peak: 1024 x 1024 products, one thread per process, "
                "measured at the start of the run): " + "; ".join(
                    f"{n} process{'es' if n > 1 else ''}: fp32 {peak[n]['float32'] / 1e9:.1f} GFLOP/s, "
                    f"bf16 {peak[n]['bfloat16'] / 1e9:.1f} GFLOP/s" for n in (1, 2)) + ". The bf16 rows' MFU "
                "is against the fp32 peak too."]
    details += ["", "## Raw outputs", ""]
    for path in sorted(raw.iterdir()):
        details += [f"### {path.name}", "", "```", path.read_text().rstrip(), "```", ""]

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join([f"# Benchmark results {now:%Y-%m-%d}", ""] + summary + [""] + details))

    block = "\n".join([BEGIN, "## Current results", ""] + summary + [END])
    readme = args.readme.read_text()
    if BEGIN in readme:
        readme = readme[:readme.index(BEGIN)] + block + readme[readme.index(END) + len(END):]
    else:
        title, rest = readme.split("\n", 1)
        readme = f"{title}\n\n{block}\n{rest}"
    args.readme.write_text(readme)
    print(f"results_report: wrote {args.output} and updated {args.readme}")


if __name__ == "__main__":
    main()
