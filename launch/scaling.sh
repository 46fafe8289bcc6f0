#!/usr/bin/env bash
# Strong and weak scaling sweeps of `dtrain train` over rank counts, with repeats:
#
#   launch/scaling.sh --config configs/synthetic.yaml --ranks "1 2" --repeats 3 --out scaling/
#
# Strong scaling keeps the global batch fixed (--batch × the largest rank count, split over the
# ranks); weak scaling keeps --batch per rank. Each run trains --steps steps and logs every
# --steps/3; the first window (start-up, first allocations) is left out of the throughput. Runs are
# interleaved (repeat, then mode, then ranks) so that changing machine load hits all points alike.
# bench_allreduce_torch measures the all-reduce bus bandwidth at each rank count (up to --allreduce-mb).
# Out: scaling.csv, summary.md, throughput.png, efficiency.png (launch/scaling_report.py), and
# runs/ with every run's log.jsonl. Inside a Slurm allocation ranks start with `srun --mpi=pmix`,
# elsewhere with launch/mpirun.sh; rank counts above the cores (or Slurm tasks) are marked
# oversubscribed. Arguments after `--` go to every `dtrain train`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

config="" ranks="1 2" repeats=3 steps=30 batch=16 out=scaling modes="strong weak" allreduce_mb=64
build=${DTRAIN_BUILD:-$here/../build}
while [ $# -gt 0 ]; do
  case $1 in
    --config) config=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --allreduce-mb) allreduce_mb=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "scaling.sh: unknown option '$1' (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done
if [ -z "$config" ]; then
  echo "usage: launch/scaling.sh --config FILE [--ranks '1 2 4'] [--repeats 3] [--steps 30] [--batch 16]" \
       "[--modes 'strong weak'] [--allreduce-mb 64] [--out DIR] [-- dtrain train options]" >&2
  exit 2
fi
if [ "$steps" -lt 6 ]; then echo "scaling.sh: --steps must be at least 6 (3 log windows)" >&2; exit 2; fi
dtrain=$build/dtrain
allreduce=$build/benchmarks/bench_allreduce_torch
for binary in "$dtrain" "$allreduce"; do
  [ -x "$binary" ] || { echo "scaling.sh: $binary not built (cmake --build build)" >&2; exit 2; }
done

if [ -n "${SLURM_JOB_ID:-}" ]; then
  capacity=${SLURM_NTASKS:-1}
  launch() { local n=$1; shift; srun --mpi=pmix --ntasks="$n" --kill-on-bad-exit=1 "$@"; }
else
  capacity=$(nproc)
  launch() { local n=$1; shift; "$here/mpirun.sh" -np "$n" "$@"; }
fi
max_ranks=$(tr ' ' '\n' <<<"$ranks" | sort -n | tail -1)
window=$((steps / 3))
mkdir -p "$out/runs"
runs=$out/runs.tsv
printf 'mode\tranks\tper_device_batch\tglobal_batch\trepeat\toversubscribed\trun_dir\n' >"$runs"

for n in $ranks; do
  [ "$n" -gt 1 ] || continue
  echo "scaling.sh: all-reduce bandwidth at $n ranks"
  launch "$n" "$allreduce" "$allreduce_mb" >"$out/allreduce-np$n.md" 2>"$out/allreduce-np$n.log"
done

for repeat in $(seq 1 "$repeats"); do
  for mode in $modes; do
    for n in $ranks; do
      case $mode in
        strong)
          global=$((batch * max_ranks))
          if [ $((global % n)) -ne 0 ]; then
            echo "scaling.sh: strong scaling skips $n ranks: global batch $global is not divisible by it" >&2
            continue
          fi
          per_device=$((global / n)) ;;
        weak) per_device=$batch; global=$((batch * n)) ;;
        *) echo "scaling.sh: --modes takes strong and/or weak, got '$mode'" >&2; exit 2 ;;
      esac
      oversubscribed=$([ "$n" -gt "$capacity" ] && echo yes || echo no)
      run_dir=$out/runs/$mode-np$n-r$repeat
      echo "scaling.sh: $mode, $n ranks, batch $per_device per rank ($global global), repeat $repeat"
      launch "$n" "$dtrain" train --config "$config" --output_dir "$run_dir" --max_steps "$steps" \
        --logging_steps "$window" --per_device_train_batch_size "$per_device" \
        --gradient_accumulation_steps 1 --eval_strategy no --save_strategy no --disable_tqdm true "$@" \
        >"$run_dir.log" 2>&1 ||
        { echo "scaling.sh: run failed, see $run_dir.log" >&2; tail -5 "$run_dir.log" >&2; exit 1; }
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$n" "$per_device" "$global" "$repeat" "$oversubscribed" \
        "$run_dir" >>"$runs"
    done
  done
done

"${DTRAIN_PYTHON:-$here/../.venv/bin/python}" "$here/scaling_report.py" --out "$out" --config "$config" \
  --threads "${OMP_NUM_THREADS:-cores / ranks per node}" \
  --command "launch/scaling.sh --config $config --ranks '$ranks' --repeats $repeats --steps $steps" \
  --batch "$batch"
