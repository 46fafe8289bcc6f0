#!/usr/bin/env bash
# The main job end to end on the built-in synthetic task, no downloads: install and build, make
# and prepare the data, train a small BERT from scratch on 2 ranks, and score the dev set.
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=${DTRAIN_RANKS:-2}

bash launch/build.sh
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

build/dtrain prepare-synthetic --output data/synthetic
mpirun -np "$ranks" --oversubscribe --bind-to none build/dtrain train --config configs/synthetic.yaml \
  --overwrite_output_dir true  # the demo starts over each time; a real run would resume instead
build/dtrain predict --model runs/synthetic --data data/synthetic/dev.h5 --output runs/synthetic/dev-predictions.h5
