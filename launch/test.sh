#!/usr/bin/env bash
# The whole test suite: install, build, and run every unit and multi-rank test under CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Tests labelled `cuda` need a visible GPU: launch/gpu_check.sh runs them on a GPU node.
ctest --test-dir build --output-on-failure -j "${DTRAIN_TEST_JOBS:-2}" -LE cuda "$@"
