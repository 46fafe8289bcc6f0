#!/usr/bin/env bash
# Runs a command (normally `dtrain train`) under Open MPI with one rank per GPU, or on CPU machines
# one rank per group of cores, each rank bound to its cores with that many OpenMP threads:
#
#   launch/mpirun.sh -np 2 build/dtrain train --config configs/synthetic.yaml
#   launch/mpirun.sh -np 16 --hostfile hosts build/dtrain train --config configs/sst2-bert-base.yaml
#
# -np defaults to the GPUs of this node (nvidia-smi), else 1. A hostfile lists one node per line
# as `node01 slots=8` (slots = ranks per node); every node is assumed to have this node's cores.
# More ranks per node than cores (testing on a laptop) runs oversubscribed, unbound, 1 thread each.
# NCCL_*, OMP_*, CUDA_* and DTRAIN_* variables of this shell are passed to every rank (-x), and
# MPIRUN_ARGS adds options, e.g. MPIRUN_ARGS="--mca btl_tcp_if_include eth0" for multi-node.
set -euo pipefail

ranks="" hostfile=""
while [ $# -gt 0 ]; do
  case $1 in
    -np | -n) ranks=$2; shift 2 ;;
    --hostfile) hostfile=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "usage: launch/mpirun.sh [-np RANKS] [--hostfile FILE] COMMAND [ARGS...]" >&2
  exit 2
fi

gpus=0
if command -v nvidia-smi >/dev/null; then gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); fi
ranks=${ranks:-$((gpus > 0 ? gpus : 1))}
nodes=1
if [ -n "$hostfile" ]; then nodes=$(grep -cEv '^[[:space:]]*(#|$)' "$hostfile"); fi
ranks_per_node=$(((ranks + nodes - 1) / nodes))
cores=$(nproc)

placement=()
if [ "$ranks_per_node" -le "$cores" ]; then
  threads=$((cores / ranks_per_node))
  placement=(--map-by "ppr:${ranks_per_node}:node:PE=${threads}" --bind-to core)
else
  threads=1
  placement=(--oversubscribe --bind-to none)
  echo "mpirun.sh: $ranks_per_node ranks per node on $cores cores: oversubscribed, unbound" >&2
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$threads}
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

forwarded=()
for name in $(compgen -e | grep -E '^(NCCL_|OMP_|CUDA_|DTRAIN_)' || true); do forwarded+=(-x "$name"); done
hosts=()
if [ -n "$hostfile" ]; then hosts=(--hostfile "$hostfile"); fi
# shellcheck disable=SC2206  # MPIRUN_ARGS is a list of options
extra=(${MPIRUN_ARGS:-})

exec mpirun -np "$ranks" "${hosts[@]}" "${placement[@]}" "${forwarded[@]}" "${extra[@]}" "$@"
