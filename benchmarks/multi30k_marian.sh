#!/usr/bin/env bash
# Multi30k en->fr from scratch with the small Marian of configs/multi30k-marian-small.yaml: dtrain on 2
# ranks against Hugging Face Seq2SeqTrainer on 2 processes (torchrun, gloo) on the same machine, the same
# model config, tokenizer folder, initial weights, hyper-parameters and number of steps; then sacreBLEU
# (cased, detokenised, 4 beams) of each final model on test_2016_flickr, computed the course's way
# (transformers generate() + sacrebleu) for both, and with `dtrain translate` + `dtrain bleu` for dtrain's:
#
#   bash benchmarks/multi30k_marian.sh          # from the repository root, data in ../shared/data
#
# Steps: `dtrain train-tokenizer` (Marian, 8000 pieces, as the README), `dtrain prepare --task translation`
# for train and test, the initial model drawn by transformers from the YAML's model.config
# (benchmarks/multi30k_anchor.py init), both trainings with checkpoints and evaluation off (the time is
# training), both BLEU scores. Every process runs one thread (OMP_NUM_THREADS=1). MULTI30K_EPOCHS overrides
# num_train_epochs (default: the YAML's 3), MULTI30K_SEED the seed (42), MULTI30K_VOCAB_SIZE the tokenizer's
# pieces (8000). Writes WORK/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${DTRAIN_SHARED_DATA:-../shared/data}
work=${DTRAIN_BENCH_WORK:-/tmp/dtrain-multi30k}
python=${DTRAIN_PYTHON:-.venv/bin/python}
dtrain=${DTRAIN_BINARY:-build/dtrain}
config=configs/multi30k-marian-small.yaml
seed=${MULTI30K_SEED:-42}
m=$shared/multi30k
fail() { echo "multi30k_marian.sh: $*" >&2; exit 2; }
[ -f "$m/train.en" ] && [ -f "$m/test_2016_flickr.fr" ] || fail "$m: Multi30k files not found (set DTRAIN_SHARED_DATA)"
[ -x "$dtrain" ] || fail "$dtrain not built (cmake --build build --target dtrain)"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$work"
loadavg() { cut -d' ' -f1 /proc/loadavg; }

[ -f "$work/tokenizer/tokenizer_config.json" ] ||
  "$dtrain" train-tokenizer --type marian --source "$m/train.en" --target "$m/train.fr" --vocab-size "${MULTI30K_VOCAB_SIZE:-8000}" \
    --source-lang en --target-lang fr --output "$work/tokenizer"
for split in train test_2016_flickr; do
  [ -f "$work/data/$split.h5" ] ||
    "$dtrain" prepare --task translation --tokenizer "$work/tokenizer" --source-file "$m/$split.en" \
      --target-file "$m/$split.fr" --output "$work/data/$split.h5" >/dev/null
done
"$python" benchmarks/multi30k_anchor.py init --config "$config" --tokenizer "$work/tokenizer" --seed "$seed" \
  --output "$work/init" --run-config "$work/run.yaml" --trainer-flags "$work/trainer-flags.txt"
epochs=()
[ -n "${MULTI30K_EPOCHS:-}" ] && epochs=(--num_train_epochs "$MULTI30K_EPOCHS")

# timed SIDE COMMAND...: one training run, its wall time and the load around it in WORK/runs.jsonl.
timed() {
  local side=$1 load_before start status=0
  shift
  rm -rf "${work:?}/$side"
  load_before=$(loadavg)
  start=$(date +%s.%N)
  echo "multi30k_marian.sh: $side (load $load_before)"
  "$@" >"$work/$side.log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || fail "$side failed (exit $status): see $work/$side.log"
  printf '{"side": "%s", "wall_seconds": %s, "load_before": %s, "load_after": %s}\n' "$side" \
    "$(echo "$(date +%s.%N) - $start" | bc)" "$load_before" "$(loadavg)" >>"$work/runs.jsonl"
}
rm -f "$work/runs.jsonl"
timed dtrain mpirun -np 2 --oversubscribe --bind-to none -x OMP_NUM_THREADS "$dtrain" train \
  --config "$work/run.yaml" --data.tokenizer "$work/tokenizer" --data.train_file "$work/data/train.h5" \
  --data.eval_file "$work/data/test_2016_flickr.h5" --output_dir "$work/dtrain" --seed "$seed" \
  --eval_strategy no --save_strategy no --load_best_model_at_end false --disable_tqdm true "${epochs[@]}"
# shellcheck disable=SC2046 # the flags file holds "--name value" pairs without spaces in the values
timed seq2seq-trainer "$python" -m torch.distributed.run --standalone --nproc_per_node 2 \
  benchmarks/multi30k_anchor.py train --model "$work/init" --train "$work/data/train.h5" \
  --output_dir "$work/seq2seq-trainer" $(cat "$work/trainer-flags.txt") --seed "$seed" --ddp_backend gloo \
  --disable_tqdm true "${epochs[@]}"

for side in dtrain seq2seq-trainer; do
  echo "multi30k_marian.sh: BLEU of $side's model (generate(), 4 beams)"
  "$python" benchmarks/multi30k_anchor.py bleu --model "$work/$side" --source "$m/test_2016_flickr.en" \
    --reference "$m/test_2016_flickr.fr" --num-beams 4 --max-length 64 --output "$work/$side.test.fr" \
    >"$work/$side.bleu.json" 2>"$work/$side.bleu.log"
done
mpirun -np 2 --oversubscribe --bind-to none -x OMP_NUM_THREADS "$dtrain" translate --model "$work/dtrain" \
  --input "$m/test_2016_flickr.en" --output "$work/dtrain.dtrain-translate.fr" --num-beams 4 --max-length 64 \
  2>"$work/dtrain-translate.log"
"$dtrain" bleu --hyp "$work/dtrain.dtrain-translate.fr" --ref "$m/test_2016_flickr.fr" >"$work/dtrain.dtrain-bleu.txt"
"$python" benchmarks/multi30k_anchor.py report --work "$work"
