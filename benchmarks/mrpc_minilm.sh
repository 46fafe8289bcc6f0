#!/usr/bin/env bash
# MRPC fine-tuning of the pretrained all-MiniLM-L6-v2, dtrain against Hugging Face Trainer on the
# same machine, same data (prepared once by `dtrain prepare`; Trainer reads the same HDF5 files) and
# the same recipe (configs/mrpc-minilm.yaml: TrainingArguments defaults, lr 5e-5, batch 8 per
# process, 3 epochs, evaluation each epoch), for several seeds, runs interleaved so that machine load
# hits every setting alike:
#
#   bash benchmarks/mrpc_minilm.sh                    # from the repository root, data in ../shared/data
#
# Settings (MRPC_SETTINGS, default "dtrain-np2 trainer-np1 trainer-np2"):
#   dtrain-npN        mpirun -np N build/dtrain train, one thread per rank
#   trainer-np1       tests/reference/hf_trainer.py in one process
#   trainer-npN       the same under torchrun --nproc_per_node N (gloo)
#   <setting>-bf16    the same with bf16: true / --bf16 true (autocast on the CPU)
# MRPC_SEEDS (default "1 2 3") are the seeds (TrainingArguments.seed: classifier init and data order).
# Checkpoints are off on both sides (save_strategy no), so the time is training and evaluation. Every
# process runs MRPC_THREADS (default 1) intra-op threads: on a shared machine, OpenMP threads that
# spin-wait for a busy core make multi-threaded runs crawl (README, "Threads").
# Writes WORK/<setting>-s<seed>/ (each run's logs), WORK/runs.jsonl (one line per run: wall time,
# load average before and after) and, with benchmarks/mrpc_report.py, WORK/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${DTRAIN_SHARED_DATA:-../shared/data}
work=${DTRAIN_BENCH_WORK:-/tmp/dtrain-mrpc}
python=${DTRAIN_PYTHON:-.venv/bin/python}
dtrain=${DTRAIN_BINARY:-build/dtrain}
settings=${MRPC_SETTINGS:-dtrain-np2 trainer-np1 trainer-np2}
threads=${MRPC_THREADS:-1}
seeds=${MRPC_SEEDS:-1 2 3}
model=models/all-MiniLM-L6-v2
fail() { echo "mrpc_minilm.sh: $*" >&2; exit 2; }
[ -d "$shared/glue/MRPC" ] || fail "$shared/glue/MRPC not found (set DTRAIN_SHARED_DATA)"
[ -x "$dtrain" ] || fail "$dtrain not built (cmake --build build --target dtrain)"
DTRAIN_PYTHON=$python bash launch/fetch_models.sh >/dev/null
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$work"

for split in train dev; do
  [ -f "$work/data/$split.h5" ] ||
    "$dtrain" prepare --tokenizer "$model" --input "$shared/glue/MRPC/$split.tsv" --output "$work/data/$split.h5" \
      --text-a '#1 String' --text-b '#2 String' --label Quality --max-length 128 >/dev/null
done

loadavg() { cut -d' ' -f1 /proc/loadavg; }

# run SETTING SEED: one training run, skipped when its result is already there (a rerun resumes).
run() {
  local setting=$1 seed=$2
  local out=$work/$setting-s$seed
  [ -f "$out/done" ] && return 0
  rm -rf "$out" && mkdir -p "$out"
  local ranks=${setting#*-np} bf16=false
  ranks=${ranks%%-*}
  [[ $setting == *-bf16 ]] && bf16=true
  local load_before start end status=0
  load_before=$(loadavg)
  start=$(date +%s.%N)
  echo "mrpc_minilm.sh: $setting seed $seed (load $load_before)"
  case $setting in
    dtrain-*)
      mpirun -np "$ranks" --oversubscribe --bind-to none -x OMP_NUM_THREADS="$threads" "$dtrain" train \
        --config configs/mrpc-minilm.yaml --data.train_file "$work/data/train.h5" \
        --data.eval_file "$work/data/dev.h5" --output_dir "$out" --seed "$seed" --bf16 "$bf16" \
        --save_strategy no --disable_tqdm true >"$out/stdout.log" 2>&1 || status=$?
      ;;
    trainer-np1*)
      OMP_NUM_THREADS=$threads "$python" tests/reference/hf_trainer.py train --model "$model" --train "$work/data/train.h5" \
        --eval "$work/data/dev.h5" --task-name mrpc --output_dir "$out" --seed "$seed" --bf16 "$bf16" \
        --num_train_epochs 3 --per_device_train_batch_size 8 --per_device_eval_batch_size 8 \
        --eval_strategy epoch --logging_steps 50 --disable_tqdm true >"$out/stdout.log" 2>&1 || status=$?
      ;;
    trainer-*)
      OMP_NUM_THREADS=$threads "$python" -m torch.distributed.run --standalone --nproc_per_node "$ranks" \
        tests/reference/hf_trainer.py train --model "$model" --train "$work/data/train.h5" \
        --eval "$work/data/dev.h5" --task-name mrpc --output_dir "$out" --seed "$seed" --bf16 "$bf16" \
        --num_train_epochs 3 --per_device_train_batch_size 8 --per_device_eval_batch_size 8 \
        --eval_strategy epoch --logging_steps 50 --disable_tqdm true --ddp_backend gloo \
        >"$out/stdout.log" 2>&1 || status=$?
      ;;
    *) fail "unknown setting $setting" ;;
  esac
  end=$(date +%s.%N)
  [ "$status" -eq 0 ] || fail "$setting seed $seed failed (exit $status): see $out/stdout.log"
  printf '{"setting": "%s", "seed": %s, "threads": %s, "wall_seconds": %s, "load_before": %s, "load_after": %s}\n' \
    "$setting" "$seed" "$threads" "$(echo "$end - $start" | bc)" "$load_before" "$(loadavg)" >>"$work/runs.jsonl"
  touch "$out/done"
}

for seed in $seeds; do
  for setting in $settings; do run "$setting" "$seed"; done
done
"$python" benchmarks/mrpc_report.py --work "$work" --output "$work/report.md"
