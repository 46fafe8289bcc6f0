#!/usr/bin/env bash
# Reproduces every benchmark table with one command, each against an anchor measured in the same run:
#
#   bash benchmarks/run_all.sh          # from the repository root, data in ../shared/data
#
# - peak: the machine's fp32 and bf16 matrix-product peak with the same torch, 1 and 2 processes of one
#   thread (benchmarks/anchors.py peak), the denominator of every MFU in the report;
# - training BERT-tiny (2x128) on SST-2 (bert-base-uncased's vocabulary, max length 64) from the same
#   initial weights (drawn by transformers), batch 32 per rank, at 1 and 2 ranks: dtrain vs Hugging
#   Face Trainer (tests/reference/hf_trainer.py in one process, and under torchrun with gloo) on the
#   same sample order, and vs the PyTorch DDP script (benchmarks/ddp_reference.py, gloo);
# - training all-MiniLM-L6-v2 on MRPC (batch 8 per rank, the course's recipe): dtrain vs Trainer at 1
#   and 2 processes in fp32, and at 2 processes with bf16 (CPU autocast on both sides);
# - all-reduce fp16/fp32: bench_allreduce_torch vs torch.distributed gloo (benchmarks/anchors.py);
# - loader: bench_loader at 1 and 2 ranks; reader: bench_prepare's reader vs h5py;
# - tokenizer: bench_tokenizer vs Hugging Face `tokenizers` (benchmarks/tokenizer_reference.py);
# - prepare: bench_prepare vs the `tokenizers` encode_batch alone.
# Training runs are interleaved (for each repeat and rank count: dtrain, Trainer, DDP) so that machine
# load hits every side alike; the first sixth of each run's steps is left out of its timing. Every
# process runs one thread (OMP_NUM_THREADS=1), dtrain and anchors alike. Writes
# benchmarks/results/<date>.md (raw outputs included) and the "Current results" of
# benchmarks/README.md. DTRAIN_BENCH_REPEATS (2), DTRAIN_BENCH_STEPS (120, BERT-tiny) and
# DTRAIN_BENCH_MINILM_STEPS (48) size the training runs; DTRAIN_PYTHON (.venv/bin/python) is the
# Python with torch, transformers, tokenizers and h5py.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${DTRAIN_SHARED_DATA:-../shared/data}
work=${DTRAIN_BENCH_WORK:-/tmp/dtrain-bench}
repeats=${DTRAIN_BENCH_REPEATS:-2}
steps=${DTRAIN_BENCH_STEPS:-120}
minilm_steps=${DTRAIN_BENCH_MINILM_STEPS:-48}
python=${DTRAIN_PYTHON:-.venv/bin/python}
fail() { echo "run_all.sh: $*" >&2; exit 2; }
[ -d "$shared/glue/SST-2" ] || fail "$shared/glue/SST-2 not found (set DTRAIN_SHARED_DATA)"
"$python" -c "import torch, transformers, tokenizers, h5py" 2>/dev/null ||
  fail "$python lacks torch, transformers, tokenizers or h5py (run launch/setup.sh, or set DTRAIN_PYTHON)"
DTRAIN_PYTHON=$python bash launch/fetch_models.sh >/dev/null

cmake --build build --target dtrain bench_allreduce_torch bench_loader bench_prepare bench_tokenizer \
  >/dev/null
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpi() { local n=$1; shift; mpirun -np "$n" --oversubscribe --bind-to none -x OMP_NUM_THREADS "$@"; }
# Trainer: one plain process, or torchrun (gloo) for more.
trainer() {
  local n=$1; shift
  if [ "$n" -eq 1 ]; then
    "$python" tests/reference/hf_trainer.py train "$@"
  else
    "$python" -m torch.distributed.run --standalone --nproc_per_node "$n" tests/reference/hf_trainer.py train \
      --ddp_backend gloo "$@"
  fi
}
raw=$work/raw
rm -rf "$work" && mkdir -p "$raw"
loadavg() { cut -d' ' -f1-3 /proc/loadavg >>"$raw/loadavg.txt"; }
loadavg

echo "run_all.sh: matrix-product peak (MFU's denominator)"
for n in 1 2; do "$python" benchmarks/anchors.py peak "$n" >"$raw/peak-np$n.json"; done

echo "run_all.sh: preparing SST-2 (bert-base-uncased vocabulary, max length 64) and MRPC (MiniLM's)"
vocab=$shared/vocab/bert-base-uncased
for split in train dev; do
  build/dtrain prepare --tokenizer "$vocab" --input "$shared/glue/SST-2/$split.tsv" \
    --output "$work/sst2/$split.h5" --text-a sentence --label label --max-length 64 >/dev/null
  build/dtrain prepare --tokenizer models/all-MiniLM-L6-v2 --input "$shared/glue/MRPC/$split.tsv" \
    --output "$work/mrpc/$split.h5" --text-a '#1 String' --text-b '#2 String' --label Quality \
    --max-length 128 >/dev/null
done
# The model of configs/sst2-small-scratch.yaml: initial weights drawn once by transformers, for every side.
model_config='import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))["model"]["config"]))'
"$python" -c "$model_config" configs/sst2-small-scratch.yaml >"$work/bert-tiny.json"
"$python" tests/reference/hf_trainer.py init --config "$(cat "$work/bert-tiny.json")" --num-labels 2 --seed 1 \
  --output "$work/bert-tiny-init"

# One training comparison: dtrain, Trainer (same sample order: the same batches, so the same FLOPs)
# and optionally DDP, at RANKS ranks, for STEPS steps of BATCH per rank with learning rate LR (AdamW,
# weight decay 0.01, 10% linear warmup), timed after the first sixth.
# compare NAME RANKS STEPS BATCH LR MODEL TRAIN PRECISION(fp32|bf16) DDP(yes|no)
compare() {
  local name=$1 ranks=$2 run_steps=$3 batch=$4 lr=$5 model=$6 train=$7 precision=$8 ddp=$9
  local window=$((run_steps / 6)) bf16=false
  [ "$precision" = bf16 ] && bf16=true
  local run_dir=$work/$name-dtrain
  echo "run_all.sh: $name: dtrain, Trainer$([ "$ddp" = yes ] && echo ", DDP")"
  mpi "$ranks" build/dtrain train --model.name_or_path "$model" --data.train_file "$train" \
    --output_dir "$run_dir" --max_steps "$run_steps" --per_device_train_batch_size "$batch" --learning_rate "$lr" \
    --weight_decay 0.01 --warmup_steps 0.1 --logging_steps "$window" --save_strategy no --bf16 "$bf16" \
    --disable_tqdm true >"$run_dir.log" 2>&1
  trainer "$ranks" --model "$model" --train "$train" --order dtrain --model_accepts_loss_kwargs false \
    --output_dir "$work/$name-trainer" --max_steps "$run_steps" --per_device_train_batch_size "$batch" \
    --learning_rate "$lr" --weight_decay 0.01 --warmup_steps 0.1 --logging_steps "$window" --bf16 "$bf16" \
    --timed_after_step "$window" --disable_tqdm true >"$work/$name-trainer.log" 2>&1
  cp "$work/$name-trainer/summary.json" "$raw/$name-trainer.json"
  if [ "$ddp" = yes ]; then
    mpi "$ranks" "$python" benchmarks/ddp_reference.py --config-json "$work/bert-tiny.json" --train "$train" \
      --per-device-batch "$batch" --max-steps "$run_steps" --warmup-steps "$window" --lr "$lr" \
      --fp16-allreduce >"$raw/$name-ddp.json" 2>"$work/$name-ddp.log"
  fi
  loadavg
}

for repeat in $(seq 1 "$repeats"); do
  for ranks in 1 2; do
    compare "tiny-np$ranks-r$repeat" "$ranks" "$steps" 32 5e-4 "$work/bert-tiny-init" "$work/sst2/train.h5" \
      fp32 yes
  done
  for ranks in 1 2; do
    compare "minilm-np$ranks-r$repeat" "$ranks" "$minilm_steps" 8 5e-5 models/all-MiniLM-L6-v2 \
      "$work/mrpc/train.h5" fp32 no
  done
  compare "minilm-bf16-np2-r$repeat" 2 "$minilm_steps" 8 5e-5 models/all-MiniLM-L6-v2 "$work/mrpc/train.h5" \
    bf16 no
done

echo "run_all.sh: all-reduce (dtrain's MPI backend, then gloo)"
mpi 2 build/benchmarks/bench_allreduce_torch 64 >"$raw/allreduce.md"
mpi 2 "$python" benchmarks/anchors.py allreduce 64 >"$raw/allreduce-gloo.json"
loadavg
echo "run_all.sh: loader"
for ranks in 1 2; do mpi "$ranks" build/benchmarks/bench_loader >"$raw/loader-np$ranks.txt"; done
echo "run_all.sh: tokenizer and prepare"
build/benchmarks/bench_tokenizer "$shared" >"$raw/tokenizer.txt"
RAYON_NUM_THREADS=1 "$python" benchmarks/tokenizer_reference.py "$shared" >"$raw/tokenizer-rust.txt"
build/benchmarks/bench_prepare "$vocab" "$shared/glue/SST-2/train.tsv" sentence label "$work" \
  >"$raw/prepare.md"
"$python" benchmarks/anchors.py reader "$work/sst2/train.h5" >"$raw/reader-h5py.json"
loadavg

"$python" benchmarks/results_report.py --work "$work" --output "benchmarks/results/$(date -u +%Y-%m-%d).md" \
  --readme benchmarks/README.md
