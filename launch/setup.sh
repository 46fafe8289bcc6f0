#!/usr/bin/env bash
# Installs everything dtrain needs to build, test and benchmark on Debian 12: Debian packages
# (apt-get) and a pinned Python environment from PyPI (launch/requirements.txt) in a virtual
# environment, by default .venv inside the checkout (DTRAIN_VENV names another). The torch wheel in
# that environment is the LibTorch dtrain builds against.
# Idempotent: present packages are skipped, and pip runs only when requirements.txt changed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libopenblas0-openmp
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libutf8proc-dev
  libssl-dev
  libsentencepiece-dev # the Marian tokenizer
  libprotobuf-dev protobuf-compiler # TensorBoard event files
  python3 python3-venv
  slurm-wlm munge # the one-node Slurm cluster of the launch tests (tests/launch)
  gnuplot-nox     # launch/scaling.sh plots
  clang libclang-rt-14-dev # fuzz/: the libFuzzer targets (optional, outside CI)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages present"
else
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv=${DTRAIN_VENV:-$repo/.venv}
requirements=$repo/launch/requirements.txt
stamp=$venv/.dtrain-requirements.txt
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating the Python environment $venv"
  python3 -m venv "$venv"
fi
if cmp -s "$requirements" "$stamp"; then
  echo "setup: Python environment $venv up to date"
else
  echo "setup: installing launch/requirements.txt into $venv (first time: about 5 GB, a few minutes)"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$requirements"
  cp "$requirements" "$stamp"
fi
DTRAIN_PYTHON="$venv/bin/python" bash "$repo/launch/fetch_models.sh"  # pretrained folders under models/
echo "setup: done (LibTorch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
