"""Writes benchmarks/results/<date>.md from the raw outputs of benchmarks/run_all.sh (WORK/raw and
the dtrain runs' log.jsonl) and puts its summary into benchmarks/README.md between the markers
`<!-- run_all: begin -->` and `<!-- run_all: end -->` (added under the title when absent).
"""
import argparse
import datetime
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


def dtrain_run(run_dir):
    entries = map(json.loads, (run_dir / "log.jsonl").read_text().splitlines())
    windows = [e for e in entries if "samples_per_second" in e]
    if len(windows) < 2:
        fail(f"{run_dir}/log.jsonl has {len(windows)} log windows")
    timed = windows[1:]  # the first window holds start-up, as DDP's --warmup-steps
    return {"samples_per_second": statistics.mean(w["samples_per_second"] for w in timed),
            "tokens_per_second": statistics.mean(w["tokens_per_second"] for w in timed),
            "final_loss": windows[-1]["loss"]}


def training(work, raw):
    rows = []
    for ranks in (1, 2):
        ours = [dtrain_run(p) for p in sorted(work.glob(f"dtrain-np{ranks}-r*")) if p.is_dir()]
        theirs = [json.loads(p.read_text()) for p in sorted(raw.glob(f"ddp-np{ranks}-r*.json"))]
        if not ours or not theirs:
            fail(f"training runs at {ranks} ranks are missing in {work}")
        rows.append({"ranks": ranks, "repeats": len(ours),
                     "dtrain": [r["samples_per_second"] for r in ours],
                     "ddp": [r["samples_per_second"] for r in theirs],
                     "dtrain_loss": statistics.mean(r["final_loss"] for r in ours),
                     "ddp_loss": statistics.mean(r["final_loss"] for r in theirs)})
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
    batch = rust[rust.index("encodeBatch"):]
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
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--window", type=int, required=True)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    parser.add_argument("--readme", type=pathlib.Path, required=True)
    args = parser.parse_args()
    raw = args.work / "raw"
    # When the run ended: run_all.sh samples the load average last.
    now = datetime.datetime.fromtimestamp((raw / "loadavg.txt").stat().st_mtime, datetime.timezone.utc)

    train = training(args.work, raw)
    size, busbw = allreduce(raw)
    loads = loader(raw)
    ours_tok, rust_tok, rust_rows_wall = tokenizer(raw)
    prepare_rows, reader_ours, reader_h5py = prepare(raw)

    summary = [f"{now:%Y-%m-%d %H:%M} UTC, {machine(raw)}. One thread per rank for dtrain and the anchors. "
               f"Produced by `bash benchmarks/run_all.sh`; details and raw outputs in "
               f"[results/{args.output.name}](results/{args.output.name}).", "",
               "| benchmark | dtrain | anchor (same run) | dtrain / anchor |", "|---|---:|---:|---:|"]
    for row in train:
        ours, theirs = statistics.median(row["dtrain"]), statistics.median(row["ddp"])
        summary.append(f"| training BERT-tiny, SST-2, batch 32 per rank, {row['ranks']} rank(s): samples/s "
                       f"(median of {row['repeats']}) | {ours:,.0f} | PyTorch DDP {theirs:,.0f} | "
                       f"{ratio(ours, theirs)} |")
    for kind, label in (("half", "fp16"), ("float", "fp32")):
        ours, theirs = busbw[kind]
        summary.append(f"| all-reduce {size >> 20} MiB {label}, 2 ranks: busbw GB/s | {ours:.3f} | "
                       f"gloo {theirs:.3f} | {ratio(ours, theirs)} |")
    summary.append(f"| tokenizer, SST-2 train, 1 thread: tokens per CPU second | {ours_tok / 1e6:.2f}M | "
                   f"Rust `tokenizers` encodeBatch {rust_tok / 1e6:.2f}M | {ratio(ours_tok, rust_tok)} |")
    summary.append(f"| prepare SST-2 train (tokenize + HDF5), 1 thread: rows/s | {prepare_rows[1]:,.0f} | "
                   f"Rust tokenizer alone (wall) {rust_rows_wall:,.0f} | "
                   f"{ratio(prepare_rows[1], rust_rows_wall)} |")
    summary.append(f"| reader, random batches of 32 (SST-2 train.h5): samples/s | {reader_ours:,.0f} | h5py "
                   f"{reader_h5py:,.0f} | {ratio(reader_ours, reader_h5py)} |")
    for ranks in (1, 2):
        best, mean = loads[("train", ranks)]
        summary.append(f"| loader, shuffled training batches, {ranks} rank(s): samples/s per rank, "
                       f"best (mean) | {best:,} ({mean:,}) | - | - |")

    details = ["## Training: dtrain vs PyTorch DDP", "",
               f"BERT-tiny (configs/sst2-small-scratch.yaml: 2 layers × 128, from scratch), SST-2 train "
               f"prepared with bert-base-uncased's vocabulary (max length 64), batch 32 per rank, AdamW + "
               f"linear warmup, fp16 gradient all-reduce on both sides. {args.steps} steps; the first "
               f"{args.window} are left out of the timing. Runs interleaved dtrain, DDP, dtrain, DDP. "
               f"The two sides draw initial weights and data order from different generators, so their "
               f"losses agree only roughly (a sanity check: dtrain's is the mean over the last log window "
               f"and all ranks, DDP's rank 0's last 20 steps); tests/train checks dtrain's arithmetic "
               f"against PyTorch exactly.", "",
               "| ranks | dtrain samples/s (each run) | DDP samples/s (each run) | dtrain / DDP (medians) | "
               "mean loss of the last steps: dtrain / DDP |", "|---:|---|---|---:|---|"]
    for row in train:
        details.append(f"| {row['ranks']} | {fmt(row['dtrain'])} | {fmt(row['ddp'])} | "
                       f"{ratio(statistics.median(row['dtrain']), statistics.median(row['ddp']))} | "
                       f"{row['dtrain_loss']:.3f} / {row['ddp_loss']:.3f} |")
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
