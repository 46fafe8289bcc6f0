#!/usr/bin/env bash
# bf16 on the CPU: training samples/s of all-MiniLM-L6-v2 on MRPC (batch 8, lr 5e-5, one process of
# one thread) in fp32 and with bf16: true (CPU autocast), dtrain against Hugging Face Trainer
# (tests/reference/hf_trainer.py --bf16 true, which autocasts the same way) on the same batches
# (--order dtrain), runs interleaved; the first sixth of the steps is left out of the timing. Prints
# one JSON line per run and a Markdown table; whether the CPU has bf16 instructions decides the result
# (README, "Mixed precision").
#
#   bash benchmarks/bf16_cpu.sh        # from the repository root, data in ../shared/data
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${DTRAIN_SHARED_DATA:-../shared/data}
work=${DTRAIN_BENCH_WORK:-/tmp/dtrain-bf16}
python=${DTRAIN_PYTHON:-.venv/bin/python}
dtrain=${DTRAIN_BINARY:-build/dtrain}
steps=${BF16_STEPS:-48}
repeats=${BF16_REPEATS:-1}
window=$((steps / 6))
model=models/all-MiniLM-L6-v2
DTRAIN_PYTHON=$python bash launch/fetch_models.sh >/dev/null
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
rm -rf "$work" && mkdir -p "$work"
"$dtrain" prepare --tokenizer "$model" --input "$shared/glue/MRPC/train.tsv" --output "$work/train.h5" \
  --text-a '#1 String' --text-b '#2 String' --label Quality --max-length 128 >/dev/null
args=(--max_steps "$steps" --per_device_train_batch_size 8 --learning_rate 5e-5 --weight_decay 0.01
  --warmup_steps 0.1 --logging_steps "$window" --seed 1 --disable_tqdm true)
loadavg() { cut -d' ' -f1 /proc/loadavg; }

for repeat in $(seq 1 "$repeats"); do
  for precision in fp32 bf16; do
    bf16=false
    [ "$precision" = bf16 ] && bf16=true
    run=$work/dtrain-$precision-r$repeat
    load=$(loadavg)
    "$dtrain" train --model.name_or_path "$model" --data.train_file "$work/train.h5" --output_dir "$run" \
      --save_strategy no --bf16 "$bf16" "${args[@]}" >"$run.log" 2>&1
    "$python" -c 'import json, statistics, sys
windows = [w for w in map(json.loads, open(sys.argv[1])) if "samples_per_second" in w][1:]
print(json.dumps({"side": "dtrain", "precision": sys.argv[2], "load": float(sys.argv[3]),
                  "samples_per_second": statistics.mean(w["samples_per_second"] for w in windows),
                  "mfu": statistics.mean(w["mfu"] for w in windows)}))' "$run/log.jsonl" "$precision" "$load" \
      | tee -a "$work/runs.jsonl"
    run=$work/trainer-$precision-r$repeat
    load=$(loadavg)
    "$python" tests/reference/hf_trainer.py train --model "$model" --train "$work/train.h5" --order dtrain \
      --model_accepts_loss_kwargs false --output_dir "$run" --bf16 "$bf16" --timed_after_step "$window" \
      "${args[@]}" >"$run.log" 2>&1
    "$python" -c 'import json, sys
summary = json.load(open(sys.argv[1]))
print(json.dumps({"side": "trainer", "precision": sys.argv[2], "load": float(sys.argv[3]),
                  "samples_per_second": summary["timed_samples_per_second"]}))' "$run/summary.json" "$precision" \
      "$load" | tee -a "$work/runs.jsonl"
  done
done
"$python" -c 'import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
rate = lambda side, precision: statistics.median(r["samples_per_second"] for r in runs
                                                 if r["side"] == side and r["precision"] == precision)
print("| precision | dtrain samples/s | Trainer samples/s | dtrain / Trainer |")
print("|---|---:|---:|---:|")
for precision in ("fp32", "bf16"):
    ours, theirs = rate("dtrain", precision), rate("trainer", precision)
    print(f"| {precision} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f}x |")
ours, theirs = (rate(side, "bf16") / rate(side, "fp32") for side in ("dtrain", "trainer"))
print(f"\nbf16 / fp32: dtrain {ours:.2f}x, Trainer {theirs:.2f}x")' "$work/runs.jsonl"
