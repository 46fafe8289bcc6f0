"""Compares dtrain runs with a Trainer run step by step: the largest relative difference of every
logged step's loss, grad_norm and learning_rate (and where it occurs), and the largest absolute
difference of the final weights, as a Markdown table (benchmarks/trainer_parity_minilm.sh)."""
import argparse
import json
import pathlib

from safetensors.numpy import load_file

KEYS = ("loss", "grad_norm", "learning_rate")


def steps(entries):
    return [e for e in entries if "loss" in e and "step" in e]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trainer", type=pathlib.Path, required=True)
    parser.add_argument("--dtrain", type=pathlib.Path, nargs="+", required=True)
    args = parser.parse_args()
    reference = steps(json.loads((args.trainer / "log_history.json").read_text()))
    reference_weights = load_file(args.trainer / "model.safetensors")
    print(f"{len(reference)} steps; Trainer's loss {reference[0]['loss']:.4f} -> {reference[-1]['loss']:.4f}, "
          f"grad_norm {min(e['grad_norm'] for e in reference):.3f}-{max(e['grad_norm'] for e in reference):.3f} "
          f"({sum(e['grad_norm'] > 1.0 for e in reference)} steps clipped)\n")
    print("| dtrain run | steps | loss: max rel. diff (step) | grad_norm | learning_rate | final weights: max abs. diff |")
    print("|---|---:|---|---|---|---:|")
    for folder in args.dtrain:
        ours = steps(json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines())
        if len(ours) != len(reference):
            raise SystemExit(f"{folder}: {len(ours)} logged steps, Trainer {len(reference)}")
        cells = []
        for key in KEYS:
            differences = [abs(a[key] - b[key]) / max(abs(b[key]), 1e-30) if b[key] else abs(a[key])
                           for a, b in zip(ours, reference)]
            worst = max(range(len(differences)), key=differences.__getitem__)
            cells.append(f"{differences[worst]:.1e} ({worst + 1})")
        weights = load_file(folder / "model.safetensors")
        weight_difference = max(float(abs(weights[name] - value).max()) for name, value in reference_weights.items())
        print(f"| {folder.name} | {len(ours)} | " + " | ".join(cells) + f" | {weight_difference:.1e} |")


if __name__ == "__main__":
    main()
