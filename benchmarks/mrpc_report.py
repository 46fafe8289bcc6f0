"""Summarises benchmarks/mrpc_minilm.sh: per setting, the final dev accuracy and F1 over the seeds
(mean, standard deviation, range), wall time and training samples/s (evaluation time left out), the
speed against Trainer at the same number of processes, and MFU, as a Markdown table plus one line per
run. Reads WORK/runs.jsonl and each run's folder: dtrain's log.jsonl, or the Trainer reference's
log_history.json and summary.json.

MFU: dtrain's log windows give the real (unpadded) training FLOPs per sample (model FLOP/s over
samples/s) and the fp32 matrix-product peak dtrain measured in the run (model FLOP/s over mfu, all
ranks). Both sides train on the same samples, so a run's MFU is FLOPs per sample x its training
samples/s / the peak of the cores it used (processes x threads, at the per-thread peak dtrain measured)."""
import argparse
import json
import pathlib
import statistics

import h5py


def dtrain_run(folder, train_samples, epochs=3):
    entries = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    evaluations = [e for e in entries if "eval_accuracy" in e]
    final = next(e for e in reversed(entries) if "train_runtime" in e)
    eval_seconds = sum(e["eval_runtime"] for e in evaluations)
    windows = [e for e in entries if "mfu" in e]
    return {"accuracy": evaluations[-1]["eval_accuracy"], "f1": evaluations[-1]["eval_f1"],
            "samples_per_second": epochs * train_samples / (final["train_runtime"] - eval_seconds),
            "flops_per_sample": statistics.mean(e["model_flops_per_second"] / e["samples_per_second"] for e in windows),
            "peak_per_process": statistics.mean(e["model_flops_per_second"] / e["mfu"] for e in windows) / ranks(folder)}


def ranks(folder):
    return int(folder.name.split("-np")[1].split("-")[0])


def trainer_run(folder):
    summary = json.loads((folder / "summary.json").read_text())
    final = summary["final_evaluation"]
    return {"accuracy": final["eval_accuracy"], "f1": final["eval_f1"],
            "samples_per_second": summary["train_samples_per_second"]}


def spread(values, digits=3):
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=pathlib.Path, required=True)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    args = parser.parse_args()
    with h5py.File(args.work / "data" / "train.h5", "r") as f:
        train_samples = int(f.attrs["num_samples"])
    runs = [json.loads(line) for line in (args.work / "runs.jsonl").read_text().splitlines()]
    by_setting = {}
    for run in runs:
        folder = args.work / f"{run['setting']}-s{run['seed']}"
        result = dtrain_run(folder, train_samples) if run["setting"].startswith("dtrain") else trainer_run(folder)
        by_setting.setdefault(run["setting"], []).append({**run, **result, "processes": ranks(folder)})
    # The fp32 runs' peak: a bf16 run's log measures its peak in bf16, and every row's MFU is against fp32's.
    dtrain_results = [r for setting, results in by_setting.items() if not setting.endswith("-bf16")
                      for r in results if "flops_per_sample" in r]
    flops_per_sample = statistics.mean(r["flops_per_sample"] for r in dtrain_results) if dtrain_results else None
    peak_per_process = statistics.mean(r["peak_per_process"] for r in dtrain_results) if dtrain_results else None
    for results in by_setting.values():
        for r in results:
            cores = r["processes"] * r.get("threads", 1)
            r["mfu"] = flops_per_sample * r["samples_per_second"] / (peak_per_process * cores) if flops_per_sample else None

    def trainer_speed(setting):
        """Trainer's mean samples/s at the setting's number of processes and precision."""
        trainer = "trainer-" + setting.split("-", 1)[1]
        results = by_setting.get(trainer)
        return statistics.mean(r["samples_per_second"] for r in results) if results else None

    lines = ["| setting | seeds | dev accuracy | dev F1 | wall time (s) | training samples/s | vs Trainer, same processes "
             "| MFU | load average |", "|---|---:|---|---|---:|---:|---:|---:|---|"]
    for setting, results in by_setting.items():
        loads = [r["load_before"] for r in results] + [r["load_after"] for r in results]
        speed = statistics.mean(r["samples_per_second"] for r in results)
        anchor = trainer_speed(setting)
        mfu = [r["mfu"] for r in results if r["mfu"] is not None]
        lines.append(f"| {setting} | {', '.join(str(r['seed']) for r in results)} | "
                     f"{spread([r['accuracy'] for r in results])} | {spread([r['f1'] for r in results])} | "
                     f"{statistics.mean(r['wall_seconds'] for r in results):,.0f} | {speed:.1f} | "
                     f"{f'{speed / anchor:.2f}x' if anchor else '-'} | "
                     f"{f'{statistics.mean(mfu):.1%}' if mfu else '-'} | {min(loads):.1f}–{max(loads):.1f} |")
    lines += ["", "| run | threads per process | accuracy | F1 | wall (s) | samples/s | MFU | load before / after |",
              "|---|---:|---:|---:|---:|---:|---:|---|"]
    for setting, results in by_setting.items():
        for r in results:
            mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
            lines.append(f"| {setting} seed {r['seed']} | {r.get('threads', 1)} | {r['accuracy']:.4f} | {r['f1']:.4f} | "
                         f"{r['wall_seconds']:,.0f} | {r['samples_per_second']:.1f} | {mfu} | "
                         f"{r['load_before']:.1f} / {r['load_after']:.1f} |")
    if flops_per_sample:
        lines += ["", f"MFU: {flops_per_sample / 1e9:.2f} GFLOP (real, unpadded) per training sample and an fp32 "
                      f"matrix-product peak of {peak_per_process / 1e9:.1f} GFLOP/s per one-thread process, both from "
                      f"dtrain's fp32 log.jsonl in this run (the bf16 rows' MFU is against the fp32 peak too)."]
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
