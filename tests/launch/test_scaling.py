"""Smoke test of launch/scaling.sh: a tiny strong + weak sweep at 1 and 2 ranks must produce a
CSV with one sane row per point, the Markdown summary and both PNG plots.
Environment from CTest: DTRAIN_BINARY, DTRAIN_SOURCE_DIR.
"""
import csv
import math
import os
import pathlib
import subprocess
import sys
import tempfile

source = pathlib.Path(os.environ["DTRAIN_SOURCE_DIR"])
binary = pathlib.Path(os.environ["DTRAIN_BINARY"])


def check(condition, message):
    if not condition:
        sys.exit(f"FAIL: {message}")


with tempfile.TemporaryDirectory(prefix="dtrain-scaling-") as tmp:
    root = pathlib.Path(tmp)
    subprocess.run([binary, "prepare-synthetic", "--output", root / "data", "--train-rows", "256",
                    "--dev-rows", "32"], check=True, capture_output=True)
    out = root / "sweep"
    result = subprocess.run(
        ["bash", source / "launch/scaling.sh", "--config", source / "tests/launch/tiny.yaml",
         "--ranks", "1 2", "--repeats", "1", "--steps", "6", "--batch", "4", "--allreduce-mb", "1",
         "--out", out],
        cwd=root, env=dict(os.environ, DTRAIN_BUILD=str(binary.parent), OMP_NUM_THREADS="1"),
        capture_output=True, text=True)
    check(result.returncode == 0, f"scaling.sh failed:\n{result.stdout}\n{result.stderr}")

    with open(out / "scaling.csv") as f:
        rows = list(csv.DictReader(f))
    points = sorted((r["mode"], int(r["ranks"])) for r in rows)
    check(points == [("strong", 1), ("strong", 2), ("weak", 1), ("weak", 2)], f"CSV points {points}")
    for r in rows:
        ranks, per_device, global_batch = int(r["ranks"]), int(r["per_device_batch"]), int(r["global_batch"])
        expected_global = 8 if r["mode"] == "strong" else 4 * ranks
        check(global_batch == expected_global and per_device * ranks == global_batch, f"batch sizes in {r}")
        samples, tokens = float(r["samples_per_second"]), float(r["tokens_per_second"])
        check(samples > 0 and tokens > samples, f"throughput in {r}")
        check(float(r["samples_per_second_min"]) <= samples <= float(r["samples_per_second_max"]),
              f"range in {r}")
        phases = ("data", "forward", "backward", "comm_wait", "optimizer")
        check(all(float(r[f"{p}_seconds"]) >= 0 for p in phases), f"step split in {r}")
        efficiency = float(r["efficiency"])
        check(math.isfinite(efficiency) and efficiency > 0, f"efficiency in {r}")
        check((efficiency == 1.0) == (ranks == 1), f"efficiency is relative to 1 rank: {r}")
        busbw = r["allreduce_busbw_fp16_gbps"]
        check((busbw == "") == (ranks == 1) and (ranks == 1 or float(busbw) > 0), f"all-reduce busbw in {r}")
    summary = (out / "summary.md").read_text()
    check(summary.count("\n| strong |") == 2 and summary.count("\n| weak |") == 2,
          f"summary table:\n{summary}")
    for png in ("throughput.png", "efficiency.png"):
        data = (out / png).read_bytes()
        check(data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000, f"{png} is not a plot")
    print(f"scaling sweep: {len(rows)} points, CSV, summary and plots written")
