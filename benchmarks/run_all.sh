#!/usr/bin/env bash
# Reproduces every benchmark table with one command, each against an anchor measured in the same run:
#
#   bash benchmarks/run_all.sh          # from the repository root, data in ../shared/data
#
# - training: dtrain vs PyTorch DDP (benchmarks/ddp_reference.py, gloo) on BERT-tiny (2x128) from
#   scratch, SST-2 train prepared with bert-base-uncased's vocabulary, the same batch, at 1 and 2 ranks,
#   runs interleaved dtrain/DDP/dtrain/DDP so machine load hits both alike;
# - all-reduce fp16/fp32: bench_allreduce_torch vs torch.distributed gloo (benchmarks/anchors.py);
# - loader: bench_loader at 1 and 2 ranks; reader: bench_prepare's reader vs h5py;
# - tokenizer: bench_tokenizer vs the Rust `tokenizers` crate (tests/reference/bench_tokenizer.js);
# - prepare: bench_prepare vs the Rust tokenizer's encodeBatch alone.
# Every rank runs one thread (OMP_NUM_THREADS=1), for dtrain and the anchors alike. Writes
# benchmarks/results/<date>.md (raw outputs included) and the "Current results" of
# benchmarks/README.md. DTRAIN_BENCH_REPEATS (2) and DTRAIN_BENCH_STEPS (120) size the training runs.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${DTRAIN_SHARED_DATA:-../shared/data}
work=${DTRAIN_BENCH_WORK:-/tmp/dtrain-bench}
repeats=${DTRAIN_BENCH_REPEATS:-2}
steps=${DTRAIN_BENCH_STEPS:-120}
python=${DTRAIN_PYTHON:-/usr/bin/python3}
fail() { echo "run_all.sh: $*" >&2; exit 2; }
[ -d "$shared/glue/SST-2" ] || fail "$shared/glue/SST-2 not found (set DTRAIN_SHARED_DATA)"
[ -d tests/reference/node_modules/tokenizers ] || fail "run launch/setup.sh first (tokenizer reference)"

cmake --build build --target dtrain bench_allreduce_torch bench_loader bench_prepare bench_tokenizer \
  >/dev/null
export OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpi() { local n=$1; shift; mpirun -np "$n" --oversubscribe --bind-to none -x OMP_NUM_THREADS "$@"; }
raw=$work/raw
rm -rf "$work" && mkdir -p "$raw"
loadavg() { cut -d' ' -f1-3 /proc/loadavg >>"$raw/loadavg.txt"; }
loadavg

echo "run_all.sh: preparing SST-2 (bert-base-uncased vocabulary, max length 64)"
vocab=$shared/vocab/bert-base-uncased
for split in train dev; do
  build/dtrain prepare --tokenizer "$vocab" --input "$shared/glue/SST-2/$split.tsv" \
    --output "$work/sst2/$split.h5" --text-a sentence --label label --max-length 64 >/dev/null
done
# The model of configs/sst2-small-scratch.yaml, for the DDP side.
model_config='import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))["model"]["config"]))'
"$python" -c "$model_config" configs/sst2-small-scratch.yaml >"$work/bert-tiny.json"

window=$((steps / 6))
for repeat in $(seq 1 "$repeats"); do
  for ranks in 1 2; do
    echo "run_all.sh: training, $ranks ranks, repeat $repeat: dtrain, then DDP"
    run_dir=$work/dtrain-np$ranks-r$repeat
    mpi "$ranks" build/dtrain train --config configs/sst2-small-scratch.yaml --output_dir "$run_dir" \
      --data.train_file "$work/sst2/train.h5" --data.eval_file "$work/sst2/dev.h5" --max_steps "$steps" \
      --logging_steps "$window" --eval_strategy no --disable_tqdm true >"$run_dir.log" 2>&1
    mpi "$ranks" "$python" benchmarks/ddp_reference.py --config-json "$work/bert-tiny.json" \
      --train "$work/sst2/train.h5" --per-device-batch 32 --max-steps "$steps" --warmup-steps "$window" \
      --fp16-allreduce >"$raw/ddp-np$ranks-r$repeat.json" 2>"$work/ddp-np$ranks-r$repeat.log"
    loadavg
  done
done

echo "run_all.sh: all-reduce (dtrain's MPI backend, then gloo)"
mpi 2 build/benchmarks/bench_allreduce_torch 64 >"$raw/allreduce.md"
mpi 2 "$python" benchmarks/anchors.py allreduce 64 >"$raw/allreduce-gloo.json"
loadavg
echo "run_all.sh: loader"
for ranks in 1 2; do mpi "$ranks" build/benchmarks/bench_loader >"$raw/loader-np$ranks.txt"; done
echo "run_all.sh: tokenizer and prepare"
build/benchmarks/bench_tokenizer "$shared" >"$raw/tokenizer.txt"
(cd tests/reference && RAYON_NUM_THREADS=1 node bench_tokenizer.js "$(cd "$OLDPWD" && realpath "$shared")") \
  >"$raw/tokenizer-rust.txt"
build/benchmarks/bench_prepare "$vocab" "$shared/glue/SST-2/train.tsv" sentence label "$work" \
  >"$raw/prepare.md"
"$python" benchmarks/anchors.py reader "$work/sst2/train.h5" >"$raw/reader-h5py.json"
loadavg

"$python" benchmarks/results_report.py --work "$work" --steps "$steps" --window "$window" \
  --output "benchmarks/results/$(date -u +%Y-%m-%d).md" --readme benchmarks/README.md
