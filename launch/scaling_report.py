"""Turns the runs of launch/scaling.sh into scaling.csv, summary.md, throughput.png and
efficiency.png (gnuplot). Reads OUT/runs.tsv, every run's log.jsonl and OUT/allreduce-np<N>.md.

Throughput of a run: the mean of its log windows after the first (the first holds start-up).
A point's numbers are the medians over its repeats; efficiency compares samples/s per rank with
that of the smallest rank count of the same mode (1.0 = linear scaling).
"""
import argparse
import csv
import datetime
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys

PHASES = ("data", "forward", "backward", "comm_wait", "optimizer")


def fail(message):
    sys.exit(f"scaling_report: {message}")


def run_throughput(run_dir):
    log = run_dir / "log.jsonl"
    if not log.exists():
        fail(f"{log} is missing: did the run fail?")
    windows = [e for e in map(json.loads, log.read_text().splitlines()) if "samples_per_second" in e]
    if len(windows) < 2:
        fail(f"{log} has {len(windows)} log windows; need at least 2 (the first is left out)")
    timed = windows[1:]
    result = {key: statistics.mean(w[key] for w in timed)
              for key in ("samples_per_second", "tokens_per_second")}
    for phase in PHASES:
        result[phase] = statistics.mean(w["step_seconds"][phase] for w in timed)
    return result


def allreduce_busbw(out, ranks):
    """Bus bandwidth (GB/s) of the largest fp16 and fp32 all-reduce bench_allreduce_torch measured."""
    table = out / f"allreduce-np{ranks}.md"
    if ranks == 1 or not table.exists():
        return {"half": "", "float": ""}
    rows = [line.split("|")[1:-1] for line in table.read_text().splitlines() if line.startswith("| ")]
    sized = [[c.strip() for c in row] for row in rows if len(row) == 6 and row[0].strip().isdigit()]
    largest = max(int(row[0]) for row in sized)
    return {row[2]: float(row[5]) for row in sized if int(row[0]) == largest}


def aggregate(out):
    with open(out / "runs.tsv") as f:
        runs = list(csv.DictReader(f, delimiter="\t"))
    if not runs:
        fail(f"{out / 'runs.tsv'} lists no runs")
    points = {}
    for run in runs:
        key = (run["mode"], int(run["ranks"]))
        points.setdefault(key, {"run": run, "measured": []})["measured"].append(
            run_throughput(pathlib.Path(run["run_dir"])))
    rows = []
    for (mode, ranks), point in sorted(points.items()):
        measured = point["measured"]
        samples = [m["samples_per_second"] for m in measured]
        busbw = allreduce_busbw(out, ranks)
        row = {"mode": mode, "ranks": ranks, "oversubscribed": point["run"]["oversubscribed"],
               "per_device_batch": int(point["run"]["per_device_batch"]),
               "global_batch": int(point["run"]["global_batch"]), "repeats": len(measured),
               "samples_per_second": statistics.median(samples), "samples_per_second_min": min(samples),
               "samples_per_second_max": max(samples),
               "tokens_per_second": statistics.median(m["tokens_per_second"] for m in measured)}
        for phase in PHASES:
            row[f"{phase}_seconds"] = statistics.median(m[phase] for m in measured)
        row["allreduce_busbw_fp16_gbps"], row["allreduce_busbw_fp32_gbps"] = busbw["half"], busbw["float"]
        rows.append(row)
    for mode in {r["mode"] for r in rows}:
        base = min((r for r in rows if r["mode"] == mode), key=lambda r: r["ranks"])
        per_rank = base["samples_per_second"] / base["ranks"]
        for r in rows:
            if r["mode"] == mode:
                r["efficiency"] = r["samples_per_second"] / (r["ranks"] * per_rank)
    return rows


COLUMNS = ["mode", "ranks", "oversubscribed", "per_device_batch", "global_batch", "repeats",
           "samples_per_second", "samples_per_second_min", "samples_per_second_max", "tokens_per_second",
           *(f"{p}_seconds" for p in PHASES), "efficiency",
           "allreduce_busbw_fp16_gbps", "allreduce_busbw_fp32_gbps"]


def write_csv(rows, path):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def plot(rows, out):
    """throughput.png (samples/s against ranks, with the linear ideal) and efficiency.png."""
    if not shutil.which("gnuplot"):
        print("scaling_report: gnuplot not found (launch/setup.sh installs gnuplot-nox); no plots",
              file=sys.stderr)
        return
    modes = sorted({r["mode"] for r in rows})
    for mode in modes:
        with open(out / f"{mode}.dat", "w") as f:
            base = min((r for r in rows if r["mode"] == mode), key=lambda r: r["ranks"])
            for r in (r for r in rows if r["mode"] == mode):
                ideal = base["samples_per_second"] * r["ranks"] / base["ranks"]
                f.write(f"{r['ranks']} {r['samples_per_second']} {r['samples_per_second_min']} "
                        f"{r['samples_per_second_max']} {ideal} {r['efficiency']}\n")
    ranks = sorted({r["ranks"] for r in rows})
    common = (f"set terminal pngcairo size 800,500\nset xlabel 'ranks'\n"
              f"set xtics ({', '.join(map(str, ranks))})\nset key left top\nset grid\n"
              f"set xrange [{ranks[0] - 0.5}:{ranks[-1] + 0.5}]\n")
    throughput = ", ".join(
        f"'{mode}.dat' using 1:2:3:4 with yerrorlines title '{mode} (median, min-max)', "
        f"'{mode}.dat' using 1:5 with lines dashtype 2 title '{mode} ideal'" for mode in modes)
    efficiency = ", ".join(f"'{mode}.dat' using 1:6 with linespoints title '{mode}'" for mode in modes)
    script = (f"{common}set output 'throughput.png'\nset ylabel 'samples/s'\nset yrange [0:*]\n"
              f"plot {throughput}\n"
              f"set output 'efficiency.png'\nset ylabel 'efficiency'\nset yrange [0:1.2]\n"
              f"plot {efficiency}\n")
    (out / "plots.gnuplot").write_text(script)
    subprocess.run(["gnuplot", "plots.gnuplot"], cwd=out, check=True)


def machine():
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                   platform.machine())
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.node()}, {os.cpu_count()} cores ({cpu}), load average {load} (1/5/15 min) at the end"


def write_summary(rows, out, config, command, threads):
    lines = [f"# Scaling of dtrain: {config}", "",
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}.", "",
             f"Command: `{command}`; OMP_NUM_THREADS: {threads}.", "",
             "Medians over repeats; throughput leaves out each run's first log window. Efficiency is "
             "samples/s per rank relative to the smallest rank count of the mode. Step seconds are per "
             "optimizer step; busbw is the largest fp16/fp32 all-reduce of bench_allreduce_torch at that "
             "rank count.", "",
             "| mode | ranks | per rank | global | samples/s (min-max) | tokens/s | "
             "data / fwd / bwd / comm wait / optim (ms) | efficiency | busbw fp16 / fp32 (GB/s) |",
             "|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for r in rows:
        phases = " / ".join(f"{r[f'{p}_seconds'] * 1e3:.1f}" for p in PHASES)
        mark = " (oversubscribed)" if r["oversubscribed"] == "yes" else ""
        busbw = (f"{r['allreduce_busbw_fp16_gbps']} / {r['allreduce_busbw_fp32_gbps']}"
                 if r["allreduce_busbw_fp16_gbps"] != "" else "-")
        samples = (f"{r['samples_per_second']:.1f} "
                   f"({r['samples_per_second_min']:.1f}-{r['samples_per_second_max']:.1f})")
        lines.append(f"| {r['mode']} | {r['ranks']}{mark} | {r['per_device_batch']} | {r['global_batch']} | "
                     f"{samples} | {r['tokens_per_second']:.0f} | {phases} | {r['efficiency']:.2f} | "
                     f"{busbw} |")
    lines += ["", "![throughput](throughput.png) ![efficiency](efficiency.png)", ""]
    (out / "summary.md").write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--config", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--batch", required=True, help="--batch of the sweep, for the summary")
    parser.add_argument("--threads", required=True, help="OMP_NUM_THREADS of the runs, for the summary")
    args = parser.parse_args()
    rows = aggregate(args.out)
    write_csv(rows, args.out / "scaling.csv")
    plot(rows, args.out)
    write_summary(rows, args.out, args.config, f"{args.command} --batch {args.batch}", args.threads)
    print(f"scaling_report: {len(rows)} points -> {args.out / 'scaling.csv'}, {args.out / 'summary.md'}")


if __name__ == "__main__":
    main()
