#!/usr/bin/env bash
# Installs dependencies (idempotent) and builds dtrain into build/ (ccache + precompiled headers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
jobs=${DTRAIN_BUILD_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
