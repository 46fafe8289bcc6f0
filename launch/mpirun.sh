#!/usr/bin/env bash
# Runs a command (normally `dtrain train`) under Open MPI with one rank per GPU, or on CPU machines
# one rank per group of cores, each rank bound to its cores with that many OpenMP threads:
#
#   launch/mpirun.sh -np 2 build/dtrain train --config configs/synthetic.yaml
#   launch/mpirun.sh -np 16 --hostfile hosts build/dtrain train --config configs/sst2-bert-base.yaml
#   launch/mpirun.sh -np 8 --max-restarts 3 --min-ranks 6 build/dtrain train --config X.yaml
#
# -np defaults to the GPUs of this node (nvidia-smi), else 1. A hostfile lists one node per line
# as `node01 slots=8` (slots = ranks per node); every node is assumed to have this node's cores.
# More ranks per node than cores (testing on a laptop) runs oversubscribed, unbound, 1 thread each.
# NCCL_*, OMP_*, CUDA_* and DTRAIN_* variables of this shell are passed to every rank (-x), and
# MPIRUN_ARGS adds options, e.g. MPIRUN_ARGS="--mca btl_tcp_if_include eth0" for multi-node.
#
# --max-restarts K (torchrun's name): when the job fails (non-zero exit), relaunch `dtrain train`
# with --resume_from_checkpoint latest, at most K times; each launch sees DTRAIN_RESTART_COUNT
# (0, 1, ...). A stop that was asked for (SIGUSR1, SIGTERM, SIGINT to this script, which passes
# them on to mpirun) is not relaunched. --min-ranks M lets a relaunch continue on fewer ranks: the
# ranks dtrain's health monitor blamed for the failure (it lists them in DTRAIN_FAILURE_REPORT)
# are left out, with a hostfile their whole hosts, down to M ranks, and the global batch is kept
# (--keep_global_batch_on_resume). A failure that names no rank (a rank killed outright) relaunches
# on the same ranks.
set -euo pipefail

ranks="" hostfile="" max_restarts=0 min_ranks=""
while [ $# -gt 0 ]; do
  case $1 in
    -np | -n) ranks=$2; shift 2 ;;
    --hostfile) hostfile=$2; shift 2 ;;
    --max-restarts) max_restarts=$2; shift 2 ;;
    --min-ranks) min_ranks=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "usage: launch/mpirun.sh [-np RANKS] [--hostfile FILE] [--max-restarts K [--min-ranks M]] COMMAND [ARGS...]" >&2
  exit 2
fi
if [ "$max_restarts" -gt 0 ] && [[ " $* " != *" train "* ]]; then
  echo "mpirun.sh: --max-restarts relaunches \`dtrain train\` with --resume_from_checkpoint latest;" \
       "the command is not one: $*" >&2
  exit 2
fi

gpus=0
if command -v nvidia-smi >/dev/null; then gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); fi
ranks=${ranks:-$((gpus > 0 ? gpus : 1))}
min_ranks=${min_ranks:-$ranks}
cores=$(nproc)
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# shellcheck disable=SC2206  # MPIRUN_ARGS is a list of options
extra=(${MPIRUN_ARGS:-})

# The mpirun command line for $ranks ranks on $hostfile (none: this node), in the array `launch`.
plan_launch() {
  local nodes=1 ranks_per_node threads placement=() hosts=() forwarded=()
  if [ -n "$hostfile" ]; then nodes=$(grep -cEv '^[[:space:]]*(#|$)' "$hostfile"); fi
  ranks_per_node=$(((ranks + nodes - 1) / nodes))
  if [ "$ranks_per_node" -le "$cores" ]; then
    threads=$((cores / ranks_per_node))
    placement=(--map-by "ppr:${ranks_per_node}:node:PE=${threads}" --bind-to core)
  else
    threads=1
    placement=(--oversubscribe --bind-to none)
    echo "mpirun.sh: $ranks_per_node ranks per node on $cores cores: oversubscribed, unbound" >&2
  fi
  export OMP_NUM_THREADS=${user_threads:-$threads}
  for name in $(compgen -e | grep -E '^(NCCL_|OMP_|CUDA_|DTRAIN_)' || true); do forwarded+=(-x "$name"); done
  if [ -n "$hostfile" ]; then hosts=(--hostfile "$hostfile"); fi
  launch=(mpirun -np "$ranks" "${hosts[@]}" "${placement[@]}" "${forwarded[@]}" "${extra[@]}")
}
user_threads=${OMP_NUM_THREADS:-}

if [ "$max_restarts" -eq 0 ]; then
  plan_launch
  exec "${launch[@]}" "$@"
fi

# ---- with restarts: mpirun runs as a child; signals for it are passed on ----
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
stop_requested=false mpirun_pid=""
pass_on() {
  stop_requested=true
  if [ -n "$mpirun_pid" ]; then kill -s "$1" "$mpirun_pid" 2>/dev/null || true; fi
}
trap 'pass_on USR1' USR1
trap 'pass_on TERM' TERM
trap 'pass_on INT' INT

# Leaves the ranks named in the failure report $1 out of the next launch (see the header).
drop_failed_ranks() {
  local failed failed_hosts kept
  failed=$(awk 'NF >= 2 { print $1 }' "$1" | sort -u | wc -l)
  [ "$failed" -gt 0 ] || return 0
  if [ -n "$hostfile" ]; then
    # Host names as dtrain saw them (gethostname) against the hostfile's, both without domain.
    failed_hosts=$(awk 'NF >= 2 { sub(/\..*/, "", $2); print $2 }' "$1" | sort -u)
    kept="$workdir/hosts.$attempt"
    awk -v failed="$failed_hosts" 'BEGIN { n = split(failed, list, "\n"); for (i = 1; i <= n; ++i) bad[list[i]] = 1 }
         /^[[:space:]]*(#|$)/ { next }
         { host = $1; sub(/\..*/, "", host); if (!(host in bad)) print }' "$hostfile" > "$kept"
    local old_nodes new_nodes
    old_nodes=$(grep -cEv '^[[:space:]]*(#|$)' "$hostfile")
    new_nodes=$(grep -cEv '^[[:space:]]*(#|$)' "$kept" || true)
    ranks=$((ranks - (old_nodes - new_nodes) * ((ranks + old_nodes - 1) / old_nodes)))
    hostfile=$kept
    echo "mpirun.sh: leaving out $((old_nodes - new_nodes)) host(s) of the failed rank(s): $(echo "$failed_hosts" | tr '\n' ' ')"
  else
    ranks=$((ranks - failed))
  fi
}

attempt=0 resume=()
while true; do
  export DTRAIN_RESTART_COUNT=$attempt
  export DTRAIN_FAILURE_REPORT="$workdir/failures.$attempt"
  plan_launch
  "${launch[@]}" "$@" "${resume[@]}" &
  mpirun_pid=$!
  # A trapped signal interrupts `wait` while mpirun still runs: wait until it has exited.
  while true; do
    status=0
    wait "$mpirun_pid" || status=$?
    kill -0 "$mpirun_pid" 2>/dev/null || break
  done
  mpirun_pid=""
  if [ "$status" -eq 0 ] || $stop_requested; then exit "$status"; fi
  if [ "$attempt" -ge "$max_restarts" ]; then
    echo "mpirun.sh: the job failed (exit $status) and --max-restarts $max_restarts are used up" >&2
    exit "$status"
  fi
  attempt=$((attempt + 1))
  if [ "$min_ranks" -lt "$ranks" ] && [ -s "$DTRAIN_FAILURE_REPORT" ]; then drop_failed_ranks "$DTRAIN_FAILURE_REPORT"; fi
  if [ "$ranks" -lt "$min_ranks" ] || [ "$ranks" -lt 1 ]; then
    echo "mpirun.sh: the job failed (exit $status); $ranks rank(s) would remain, fewer than --min-ranks $min_ranks" >&2
    exit "$status"
  fi
  echo "mpirun.sh: the job failed (exit $status); relaunch $attempt of $max_restarts on $ranks rank(s)" \
       "from the latest checkpoint" >&2
  resume=(--resume_from_checkpoint latest --keep_global_batch_on_resume true)
  sleep 1
done
