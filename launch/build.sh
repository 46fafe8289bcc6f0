#!/usr/bin/env bash
# Installs dependencies (idempotent) and builds dtrain into build/ (ccache + precompiled headers)
# against the LibTorch inside the Python environment's torch wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
venv=${DTRAIN_VENV:-$PWD/.venv}
jobs=${DTRAIN_BUILD_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDTRAIN_PYTHON="$venv/bin/python" >/dev/null
cmake --build build -j "$jobs"
