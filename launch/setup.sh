#!/usr/bin/env bash
# Installs everything dtrain needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are skipped by apt; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libutf8proc-dev
  libssl-dev
  python3-torch python3-h5py python3-numpy python3-yaml
  nodejs
  slurm-wlm munge   # the one-node Slurm cluster of the launch tests (tests/launch)
  gnuplot-nox       # launch/scaling.sh plots
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
apt_install() {
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "setup: need root or sudo to install: $*" >&2
    exit 1
  fi
  echo "setup: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "$@"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  apt_install "${missing[@]}"
fi
# Debian's nodejs comes without npm; NodeSource's bundles it (and conflicts with Debian's npm).
command -v npm >/dev/null || apt_install npm

# Reference for the tokenizer tests and benchmark: the Rust `tokenizers` crate through its Node
# binding, pinned by tests/reference/package-lock.json. Without it those tests skip, so a failed
# install only warns.
reference="$(dirname "$0")/../tests/reference"
stamp="$reference/node_modules/.dtrain-package-lock.json"
if cmp -s "$reference/package-lock.json" "$stamp"; then
  echo "setup: tokenizer reference present"
elif (cd "$reference" && npm ci --no-audit --no-fund --loglevel=error); then
  cp "$reference/package-lock.json" "$stamp"
  echo "setup: tokenizer reference installed"
else
  echo "setup: warning: npm ci in tests/reference failed; the tokenizer reference tests will skip" >&2
fi
echo "setup: done"
