#!/usr/bin/env bash
# Trajectory parity at MiniLM size: all-MiniLM-L6-v2 with a new classifier (drawn and saved by
# transformers, dropout 0) fine-tuned on MRPC for STEPS steps (default 120) by Hugging Face Trainer
# (tests/reference/hf_trainer.py, on dtrain's sample order) and by dtrain from the same folder with
# the same TrainingArguments (lr 5e-5, linear, warmup_steps 0.1, weight decay 0.01, max_grad_norm 1.0,
# batch 8 x 2 accumulation steps): 1 rank and 2 ranks (4 x 2 each) with fp32 all-reduce, 2 ranks with
# fp16. benchmarks/parity_report.py compares every step's loss, grad_norm and learning_rate and the
# final weights; the table goes to WORK/report.md. The tiny-model version of this runs in CI
# (tests/train/test_trainer_parity.cpp).
#
#   bash benchmarks/trainer_parity_minilm.sh        # from the repository root, data in ../shared/data
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${DTRAIN_SHARED_DATA:-../shared/data}
work=${DTRAIN_BENCH_WORK:-/tmp/dtrain-parity-minilm}
python=${DTRAIN_PYTHON:-.venv/bin/python}
dtrain=${DTRAIN_BINARY:-build/dtrain}
steps=${PARITY_STEPS:-120}
model=models/all-MiniLM-L6-v2
[ -d "$shared/glue/MRPC" ] || { echo "trainer_parity_minilm.sh: $shared/glue/MRPC not found" >&2; exit 2; }
DTRAIN_PYTHON=$python bash launch/fetch_models.sh >/dev/null
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
rm -rf "$work" && mkdir -p "$work"

"$dtrain" prepare --tokenizer "$model" --input "$shared/glue/MRPC/train.tsv" --output "$work/train.h5" \
  --text-a '#1 String' --text-b '#2 String' --label Quality --max-length 128 >/dev/null
"$python" tests/reference/hf_trainer.py init --pretrained "$model" --num-labels 2 --seed 1 --output "$work/init" \
  --config '{"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}'
args=(--learning_rate 5e-5 --lr_scheduler_type linear --warmup_steps 0.1 --weight_decay 0.01 --max_grad_norm 1.0
  --max_steps "$steps" --logging_steps 1 --seed 42 --disable_tqdm true --gradient_accumulation_steps 2)

echo "trainer_parity_minilm.sh: Trainer"
"$python" tests/reference/hf_trainer.py train --model "$work/init" --train "$work/train.h5" --order dtrain \
  --model_accepts_loss_kwargs false --save_model true --output_dir "$work/trainer" \
  --per_device_train_batch_size 8 "${args[@]}" >"$work/trainer.log" 2>&1
for run in "1 8 fp32" "2 4 fp32" "2 4 fp16"; do
  read -r ranks per_device allreduce <<<"$run"
  echo "trainer_parity_minilm.sh: dtrain, $ranks rank(s), $allreduce all-reduce"
  mpirun -np "$ranks" --oversubscribe --bind-to none -x OMP_NUM_THREADS "$dtrain" train \
    --model.name_or_path "$work/init" --data.train_file "$work/train.h5" \
    --output_dir "$work/dtrain-np$ranks-$allreduce" --save_strategy no --per_device_train_batch_size "$per_device" \
    --ddp_allreduce_dtype "$allreduce" "${args[@]}" >"$work/dtrain-np$ranks-$allreduce.log" 2>&1
done
"$python" benchmarks/parity_report.py --trainer "$work/trainer" --dtrain "$work"/dtrain-np*/ | tee "$work/report.md"
