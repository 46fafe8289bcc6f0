#!/usr/bin/env bash
# Translation throughput: dtrain's generate() (bench_marian_generate_torch) against transformers'
# generate() (benchmarks/marian_generate_anchor.py) on the same random MarianMTModel folder, inputs,
# batches and generation settings, interleaved dtrain / transformers / dtrain / transformers so that
# machine load hits both alike, and checks that both produced the same tokens.
#
#   bash benchmarks/marian_generate.sh [SHAPES] [MODES] [THREADS]
#       SHAPES: "small opus" (default), MODES: "greedy beam4", THREADS: 1
#
# Prints one JSON line per run and a markdown table (median of DTRAIN_BENCH_REPEATS, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
shapes=${1:-small opus}
modes=${2:-greedy beam4}
threads=${3:-1}
repeats=${DTRAIN_BENCH_REPEATS:-2}
work=${DTRAIN_BENCH_WORK:-/tmp/dtrain-bench-marian}
python=${DTRAIN_PYTHON:-/usr/bin/python3}
bench=build/benchmarks/bench_marian_generate_torch
[ -x "$bench" ] || { echo "marian_generate.sh: build $bench first (ninja -C build bench_marian_generate_torch)" >&2; exit 2; }
export OMP_NUM_THREADS=$threads
mkdir -p "$work"
raw=$work/raw.jsonl
: >"$raw"
for shape in $shapes; do
  dir=$work/$shape
  [ -f "$dir/model/config.json" ] || "$bench" prepare "$dir" "$shape"
  for mode in $modes; do
    for repeat in $(seq 1 "$repeats"); do
      "$bench" run "$dir" "$mode" "$threads" | sed "s/^{/{\"shape\":\"$shape\",\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\",/" | tee -a "$raw"
      "$python" benchmarks/marian_generate_anchor.py "$dir" "$mode" "$threads" |
        sed "s/^{/{\"shape\":\"$shape\",\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\",/" | tee -a "$raw"
    done
    cmp -s "$dir/dtrain-$mode.bin" "$dir/transformers-$mode.bin" ||
      { echo "marian_generate.sh: $shape $mode: dtrain's tokens differ from transformers'" >&2; exit 1; }
  done
done
"$python" - "$raw" <<'EOF'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
print("\n| model | mode | threads | dtrain sentences/s | transformers sentences/s | dtrain tokens/s | transformers tokens/s | dtrain / transformers |")
print("|---|---|--:|--:|--:|--:|--:|--:|")
keys = sorted({(r["shape"], r["mode"], r["threads"]) for r in runs}, key=lambda k: (k[0] != "small", k[1] != "greedy"))
for shape, mode, threads in keys:
    def median(side, field):
        return statistics.median(r[field] for r in runs
                                 if (r["shape"], r["mode"], r["threads"], r["side"]) == (shape, mode, threads, side))
    d, t = median("dtrain", "sentences_per_second"), median("transformers", "sentences_per_second")
    print(f"| {shape} | {mode} | {threads} | {d:.1f} | {t:.1f} | {median('dtrain', 'tokens_per_second'):.0f} "
          f"| {median('transformers', 'tokens_per_second'):.0f} | {d / t:.2f}× |")
EOF
