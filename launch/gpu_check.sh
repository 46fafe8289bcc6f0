#!/usr/bin/env bash
# Builds dtrain on a GPU node against the node's own PyTorch and proves the CUDA/NCCL path, in one
# command that stops inside ten minutes on one H200:
#
#   bash launch/gpu_check.sh --packages gpu-packages --output OUTDIR [--python PY] [--work DIR]
#
# The node needs PyTorch (with CUDA), a C++ compiler, CMake and Ninja, but no package registry: the
# Debian packages dtrain builds against come as .deb files (launch/fetch_gpu_packages.sh makes the
# folder on a machine with apt) and are unpacked into a private prefix (WORK/root), never into /.
# Stages, each under a time budget (printed as it goes; a stage over budget is stopped):
#   unpack        the .deb files into WORK/root, made relocatable (links, .pc files, library paths)
#   libraries     every library the prefix's programs load resolves inside it or to the base system
#   configure     CMake against the node's PyTorch (DTRAIN_PYTHON) and the prefix, ccache off
#   build         dtrain and the CUDA tests, on every core
#   smoke         `dtrain info` reports the CUDA/NCCL path and a visible GPU
#   cuda-tests    ctest -L cuda: NCCL at one rank, fp16 autocast + loss scaling, checkpoint/resume
#                 with the CUDA RNG state, logits and gradients on the GPU against the CPU
#   bench-dtrain  BERT-base shapes (sequence 128, batch 32, fp16), random init: samples/s
#   bench-trainer the same with Hugging Face Trainer on the same GPU (DTRAIN_PYTHON's transformers)
# and writes OUTDIR/gpu_check.md (one Markdown table of results) and OUTDIR/gpu_check.log.
#
# --rehearsal is the CPU rehearsal that CI runs (tests/launch/test_gpu_check.py): the same unpack,
# library check and configure, with every dependency required to resolve into the prefix, then a
# representative torch-free part (dtrain_base + bench_loader) built and run at 2 ranks under the
# prefix's mpirun; the benchmarks run on a tiny model on the CPU with an existing dtrain
# (--dtrain), and the CUDA tests are skipped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
self="$repo/launch/gpu_check.sh"

usage() {
  sed -n '2,/^set -euo/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --packages DIR   the folder of .deb files and packages.txt from launch/fetch_gpu_packages.sh
  --output DIR     where gpu_check.md and gpu_check.log go (created)
  --python PATH    the Python whose torch dtrain builds against (default: python3 on PATH)
  --work DIR       prefix, build and scratch (default: build-gpu in the checkout)
  --steps N        timed training steps per benchmark, after N/4 warm-up steps (default 120)
  --rehearsal      the CPU rehearsal described above
  --dtrain PATH    with --rehearsal: the dtrain binary the benchmark stages run
EOF
}

packages="" output="" python_bin="" work="$repo/build-gpu" steps=120 rehearsal=0 rehearsal_dtrain=""
stage_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --packages) packages=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --python) python_bin=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --rehearsal) rehearsal=1; shift ;;
    --dtrain) rehearsal_dtrain=$2; shift 2 ;;
    --stage) stage_only=$2; shift 2 ;;  # internal: run one stage (under the driver's time budget)
    -h | --help) usage; exit 0 ;;
    *) echo "gpu_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

fail() {
  echo "gpu_check: $*" >&2
  # Inside a stage, the reason is also the stage's detail in the report.
  if [ -n "$stage_only" ] && [ -d "${state:-}" ]; then echo "$*" >"$state/$stage_only"; fi
  exit 1
}
[ -n "$packages" ] || fail "--packages DIR is required (make it with launch/fetch_gpu_packages.sh DIR)"
[ -n "$output" ] || fail "--output DIR is required"
[ -n "$python_bin" ] || python_bin=$(command -v python3 || true)
[ -x "$python_bin" ] || fail "no Python with PyTorch: pass --python PATH"
[[ "$steps" =~ ^[0-9]+$ ]] && [ "$steps" -ge 4 ] || fail "--steps must be a number >= 4"
mkdir -p "$work" "$output"
packages=$(cd "$packages" && pwd) work=$(cd "$work" && pwd) output=$(cd "$output" && pwd)
python_bin=$(cd "$(dirname "$python_bin")" && pwd)/$(basename "$python_bin")
if [ "$rehearsal" -eq 1 ]; then
  [ -x "$rehearsal_dtrain" ] || fail "--rehearsal needs --dtrain PATH (an already built dtrain)"
  rehearsal_dtrain=$(cd "$(dirname "$rehearsal_dtrain")" && pwd)/$(basename "$rehearsal_dtrain")
fi

root=$work/root      # the unpacked Debian packages
tools=$work/bin      # mpirun, mpicxx, pkg-config, h5cc of the prefix
build=$work/build    # dtrain's CMake build
scratch=$work/scratch
state=$work/state    # one file per stage: its one-line detail for the report
multiarch=x86_64-linux-gnu
prefix_libs="$root/usr/lib/$multiarch:$root/usr/lib/$multiarch/openmpi/lib:$root/usr/lib/$multiarch/hdf5/serial"
# nproc counts the cores this process may use, but honours OMP_NUM_THREADS: not for the build.
cores=$(env -u OMP_NUM_THREADS nproc)
jobs=${DTRAIN_BUILD_JOBS:-$cores}
warmup=$((steps / 4))

# The environment that runs the prefix's Open MPI from where it was unpacked (also written to
# WORK/env.sh for later use of this build).
export OPAL_PREFIX=$root/usr OPAL_SYSCONFDIR=$root/etc/openmpi PATH="$tools:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 HF_HUB_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1
export PYTHONUNBUFFERED=1

detail() { echo "$*" >"$state/$stage_only"; }
gpu_count() { "$python_bin" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0; }

# ---- stages (each runs in its own process: `gpu_check.sh --stage NAME ...`) ----

# Base-system libraries that any image with a C++ compiler and Python has under the same names
# (launch/fetch_gpu_packages.sh prunes their packages); everything else must come from the prefix,
# the Python environment (torch, nvidia-*) or CUDA.
base_libraries="linux-vdso.so.1 ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 \
librt.so.1 libresolv.so.2 libutil.so.1 libstdc++.so.6 libgcc_s.so.1 libgomp.so.1 libatomic.so.1 \
libcrypt.so.1 libselinux.so.1 libpcre2-8.so.0 libacl.so.1 libtinfo.so.6 libzstd.so.1 liblzma.so.5 \
libbz2.so.1.0 libffi.so.8 libgmp.so.10 libuuid.so.1 libudev.so.1 libmd.so.0 libbsd.so.0"

# Prints "file: library => where" for each library of the ELF files given that is neither in the
# prefix, nor in `allowed_dirs`, nor a base-system library; "not found" ones always.
foreign_libraries() {
  local allowed_dirs=$1 file line name where
  shift
  for file in "$@"; do
    while read -r line; do
      name=${line%% *}
      case "$line" in
        *"=> not found"*) echo "$(basename "$file"): $name not found" ; continue ;;
        *"=> "*) where=${line#*=> }; where=${where%% (*} ;;
        *) continue ;;
      esac
      case "$where" in "$root"/* | "$build"/*) continue ;; esac
      local allowed=0 dir
      for dir in $allowed_dirs; do case "$where" in "$dir"/*) allowed=1 ;; esac; done
      [ "$allowed" -eq 1 ] && continue
      case " $base_libraries " in *" $name "*) continue ;; esac
      echo "$(basename "$file"): $name => $where"
    done < <(ldd "$file" 2>/dev/null)
  done
}

is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }

stage_unpack() {
  [ -f "$packages/packages.txt" ] || fail "$packages/packages.txt not found: make the folder with launch/fetch_gpu_packages.sh"
  local count=0 name version
  while read -r name version; do
    ls "$packages/${name}_${version//:/%3a}_"*.deb >/dev/null 2>&1 ||
      fail "$packages lacks $name $version (listed in packages.txt): run launch/fetch_gpu_packages.sh $packages again"
    count=$((count + 1))
  done <"$packages/packages.txt"
  rm -rf "$root" "$tools" && mkdir -p "$root" "$tools"
  local deb
  for deb in "$packages"/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$root"
    else  # a node without dpkg: a .deb is an ar archive holding data.tar.*
      (cd "$scratch" && rm -f data.tar.* && ar x "$deb" "$(ar t "$deb" | grep '^data\.tar')" &&
        tar -xf data.tar.* -C "$root" && rm -f data.tar.*)
    fi
  done
  # Debian 12 packages still put some libraries under /lib: merge it into /usr as the system does.
  local top
  for top in lib lib64 bin sbin; do
    if [ -d "$root/$top" ] && [ ! -L "$root/$top" ]; then
      mkdir -p "$root/usr/$top" && cp -a "$root/$top/." "$root/usr/$top/" && rm -rf "${root:?}/$top"
      ln -s "usr/$top" "$root/$top"
    fi
  done
  # Absolute links (libz.so -> /lib/...) point into the prefix instead.
  local link
  while IFS= read -r -d '' link; do
    ln -sfn "$root$(readlink "$link")" "$link"
  done < <(find "$root/usr" -type l -lname '/*' -print0)
  # pkg-config files and HDF5's compiler wrappers name /usr: they name the prefix instead. (Open
  # MPI finds its own files through OPAL_PREFIX; CMake package files locate themselves.)
  local text
  while IFS= read -r -d '' text; do
    sed -i -E "s#(^|[=\"' ]|-I|-L)/usr(/|\"|\$)#\1$root/usr\2#g" "$text"
  done < <(find "$root/usr" \( -name '*.pc' -o -name 'h5cc' -o -name 'h5c++' \) -type f -print0)
  # The one alternative (update-alternatives link) a library here is loaded through.
  local psm
  for psm in "$root"/usr/lib/libpsm1/libpsm_infinipath.so.1.*; do
    [ -e "$psm" ] && ln -sfn "../libpsm1/$(basename "$psm")" "$root/usr/lib/$multiarch/libpsm_infinipath.so.1"
  done
  # Every program and library of the prefix finds the prefix's libraries first, without
  # LD_LIBRARY_PATH (which would leak into Python and CMake): the prefix's library folders, then
  # its own search path with /usr moved into the prefix ($ORIGIN kept, build folders dropped).
  local patchelf="$scratch/patchelf" file patched=0 own entry search
  cp "$root/usr/bin/patchelf" "$patchelf"
  while IFS= read -r -d '' file; do
    is_elf "$file" || continue
    search=$prefix_libs
    own=$("$patchelf" --print-rpath "$file")
    for entry in ${own//:/ }; do
      case "$entry" in
        /usr/*) search="$search:$root$entry" ;;
        '$ORIGIN'*) search="$search:$entry" ;;
      esac
    done
    "$patchelf" --set-rpath "$search" "$file" && patched=$((patched + 1))
  done < <(find "$root/usr/bin" "$root/usr/lib" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
  ln -s "$root/usr/bin/orterun" "$tools/mpirun"
  ln -s "$root/usr/bin/orterun" "$tools/mpiexec"
  ln -s "$root/usr/bin/opal_wrapper" "$tools/mpicxx"
  ln -s "$root/usr/bin/ompi_info" "$tools/ompi_info"
  ln -s "$root/usr/bin/pkgconf" "$tools/pkg-config"
  ln -s "$root/usr/bin/h5cc" "$tools/h5cc"
  cat >"$work/env.sh" <<EOF
# Source this to run the dtrain built by launch/gpu_check.sh (its Open MPI lives in $root).
export OPAL_PREFIX=$root/usr OPAL_SYSCONFDIR=$root/etc/openmpi PATH="$tools:\$PATH"
EOF
  detail "$count packages ($(du -sh --apparent-size "$packages" | cut -f1)) into $root; $patched files relinked"
}

stage_libraries() {
  local files=()
  # All but the Fortran bindings (their compiler runtime is pruned) and SASL's plugins (LDAP's
  # user database: libcurl never loads them).
  mapfile -t files < <(find "$root/usr/bin" "$root/usr/lib/$multiarch" -type f \( -perm -u+x -o -name '*.so*' \) |
                       grep -Ev '(fortran|mpifh|usempi|_f08|/sasl2/)' | while read -r f; do is_elf "$f" && echo "$f"; done)
  local problems
  problems=$(foreign_libraries "" "${files[@]}")
  if [ -n "$problems" ]; then
    echo "$problems"
    fail "$(echo "$problems" | wc -l) libraries of the prefix resolve outside it (add their packages to launch/fetch_gpu_packages.sh)"
  fi
  # The prefix's Open MPI knows where it is.
  local libdir
  libdir=$(ompi_info --parsable --path libdir | sed -n 's/^path:libdir://p')
  [ "$libdir" = "$root/usr/lib/$multiarch/openmpi/lib" ] || fail "ompi_info reports libdir $libdir, not the prefix's"
  detail "${#files[@]} programs and libraries load only the prefix's and base-system libraries"
}

# The nvidia-nccl package beside the node's torch: the NCCL torch itself loads, so dtrain and torch
# never disagree on which libnccl.so.2 is in the process.
nccl_options() {
  local nccl
  nccl=$("$python_bin" -c 'import nvidia.nccl, os; print(list(nvidia.nccl.__path__)[0])' 2>/dev/null) || return 0
  if [ -f "$nccl/include/nccl.h" ] && [ -f "$nccl/lib/libnccl.so.2" ]; then
    echo "-DNCCL_INCLUDE_DIR=$nccl/include -DNCCL_LIBRARY=$nccl/lib/libnccl.so.2"
  fi
}

stage_configure() {
  local pc_dirs="$root/usr/lib/$multiarch/pkgconfig:$root/usr/share/pkgconfig:$root/usr/lib/pkgconfig"
  rm -rf "$build"
  # PKG_CONFIG_LIBDIR hides the system's .pc files; CMAKE_PREFIX_PATH puts the prefix ahead of /usr.
  PKG_CONFIG_LIBDIR=$pc_dirs cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDTRAIN_PYTHON="$python_bin" -DDTRAIN_CCACHE="${DTRAIN_CCACHE:-OFF}" -DCMAKE_PREFIX_PATH="$root/usr" \
    -DPKG_CONFIG_EXECUTABLE="$tools/pkg-config" -DMPI_CXX_COMPILER="$tools/mpicxx" \
    -DMPIEXEC_EXECUTABLE="$tools/mpirun" -DHDF5_C_COMPILER_EXECUTABLE="$tools/h5cc" \
    -DOPENSSL_ROOT_DIR="$root/usr" $(nccl_options) | tee "$scratch/configure.log"
  # What the compiler and linker will see: dependencies found in /usr instead of the prefix (the C
  # library's own files belong to the node's toolchain).
  local leaks toolchain_files='/lib(c|m|dl|pthread|rt)\.(so|a)$'

  leaks=$(grep -E '^ *(INCLUDES|LINK_LIBRARIES|LINK_PATH) = ' "$build/build.ninja" | tr ' ' '\n' |
          sed 's/^-I//; s/^-L//' | grep -E '^/usr/(include|lib|share)' | grep -Ev "$toolchain_files" | sort -u || true)
  if [ -n "$leaks" ]; then
    echo "found outside the prefix:"; echo "$leaks"
    [ "$rehearsal" -eq 1 ] && fail "dependencies resolved outside the prefix (listed above)"
  fi
  local cuda_path
  cuda_path=$(sed -n 's/.*CUDA\/NCCL path: //p' "$scratch/configure.log" | tail -1)
  local origin="every dependency from the prefix"
  [ -z "$leaks" ] || origin="from /usr: $(echo $leaks)"
  detail "LibTorch $("$python_bin" -c 'import torch; print(torch.__version__)'), CUDA/NCCL path ${cuda_path:-?}, $(c++ --version | head -1); $origin"
}

build_targets() {
  if [ "$rehearsal" -eq 1 ]; then echo "dtrain_base bench_loader"; else echo "dtrain test_cuda mpi_nccl_communicator_cuda"; fi
}

stage_build() {
  local start=$SECONDS
  # shellcheck disable=SC2046
  cmake --build "$build" -j "$jobs" --target $(build_targets)
  local units
  units=$(grep -c '^build [^:]*\.o: ' "$build/build.ninja" || true)
  detail "$(build_targets) with $jobs jobs in $((SECONDS - start)) s ($units compile units in the project)"
}

stage_smoke() {
  if [ "$rehearsal" -eq 1 ]; then
    local problems
    problems=$(foreign_libraries "" "$build/benchmarks/bench_loader")
    [ -z "$problems" ] || { echo "$problems"; fail "bench_loader loads libraries from outside the prefix"; }
    mpirun -np 2 --bind-to none "$build/benchmarks/bench_loader" 3000 | tee "$scratch/smoke.log"
    grep -q "^train ranks=2" "$scratch/smoke.log" || fail "bench_loader printed no result"
    detail "bench_loader at 2 ranks under the prefix's mpirun: $(grep '^train' "$scratch/smoke.log" | sed 's/ *samples\/s per rank (slowest rank)://')"
  else
    local torch_dir problems
    torch_dir=$("$python_bin" -c 'import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))')
    # torch's folder holds the nvidia-* wheels too; CUDA lives under /usr/local (cuda, cuda-13.0),
    # the driver's libcuda in the system's library folder.
    problems=$(foreign_libraries "$torch_dir /usr/local /usr/lib/$multiarch /lib/$multiarch" "$build/dtrain")
    [ -z "$problems" ] || { echo "$problems"; fail "dtrain loads libraries it cannot find"; }
    "$build/dtrain" info | tee "$scratch/info.log"
    grep -q "CUDA/NCCL path: built" "$scratch/info.log" || fail "this dtrain was built without the CUDA/NCCL path (see the configure stage)"
    grep -q "CUDA available: yes" "$scratch/info.log" || fail "LibTorch sees no GPU"
    detail "$(grep -m1 LibTorch "$scratch/info.log")"
  fi
}

stage_cuda_tests() {
  # Several at once: most of each test is process and CUDA start-up, and the GPU has room for all.
  ctest --test-dir "$build" -L cuda -j 4 --output-on-failure --timeout 70 | tee "$scratch/ctest.log" || true
  local summary
  summary=$(grep -E 'tests passed' "$scratch/ctest.log" | tail -1)
  [ -n "$summary" ] || fail "ctest found no CUDA tests"
  detail "$summary"
  grep -q "100% tests passed" "$scratch/ctest.log" || fail "$summary"
}

# The model of a benchmark run: BERT-base shapes on the GPU, a tiny BERT in the CPU rehearsal.
bench_overrides() {
  if [ "$rehearsal" -eq 1 ]; then
    echo "--model.config.hidden_size 64 --model.config.num_hidden_layers 2 --model.config.num_attention_heads 2
          --model.config.intermediate_size 256 --per_device_train_batch_size 8 --fp16 false"
  fi
}

prepare_bench_data() {
  local dtrain=$1
  [ -f "$scratch/bench-data/train.h5" ] && return 0
  "$dtrain" prepare-synthetic --output "$scratch/bench-data" --train-rows 4096 --dev-rows 64 --max-length 128 >/dev/null
}

stage_bench_dtrain() {
  local dtrain="$build/dtrain"
  [ "$rehearsal" -eq 1 ] && dtrain=$rehearsal_dtrain
  prepare_bench_data "$dtrain"
  rm -rf "$scratch/bench-dtrain"
  # shellcheck disable=SC2046
  "$dtrain" train --config "$repo/benchmarks/gpu_bert_base.yaml" --data.train_file "$scratch/bench-data/train.h5" \
    --output_dir "$scratch/bench-dtrain" --max_steps $((warmup + steps)) --logging_steps "$warmup" \
    $(bench_overrides) 2>&1 | tee "$scratch/bench-dtrain.log"
  local result
  result=$("$python_bin" "$repo/benchmarks/gpu_trainer.py" --summarize-dtrain "$scratch/bench-dtrain/log.jsonl" \
           --warmup-steps "$warmup")
  echo "$result" >"$scratch/bench-dtrain.json"
  detail "$(echo "$result" | "$python_bin" -c 'import json, sys; r = json.load(sys.stdin); print("%.1f samples/s over %d steps after %d (%s)" % (r["samples_per_second"], r["steps"], r["warmup_steps"], r["device"]))')"
}

stage_bench_trainer() {
  local dtrain="$build/dtrain"
  [ "$rehearsal" -eq 1 ] && dtrain=$rehearsal_dtrain
  prepare_bench_data "$dtrain"
  # shellcheck disable=SC2046
  "$python_bin" "$repo/benchmarks/gpu_trainer.py" --config "$repo/benchmarks/gpu_bert_base.yaml" \
    --train "$scratch/bench-data/train.h5" --output-dir "$scratch/bench-trainer" --warmup-steps "$warmup" \
    --steps "$steps" $(bench_overrides) | tee "$scratch/bench-trainer.log"
  tail -1 "$scratch/bench-trainer.log" >"$scratch/bench-trainer.json"
  detail "$("$python_bin" -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%.1f samples/s over %d steps after %d (%s, %s)" % (r["samples_per_second"], r["steps"], r["warmup_steps"], r["device"], r["optimizer"]))' "$scratch/bench-trainer.json")"
}

if [ -n "$stage_only" ]; then
  mkdir -p "$scratch" "$state"
  "stage_${stage_only//-/_}"
  exit 0
fi

# ---- the driver: stages in order, each under its budget, then the report ----

stages=(unpack libraries configure build smoke cuda-tests bench-dtrain bench-trainer)
declare -A budget needs
if [ "$rehearsal" -eq 1 ]; then  # two shared cores: the build is 45 files, the benchmarks tiny
  budget=([unpack]=60 [libraries]=60 [configure]=120 [build]=600 [smoke]=60 [cuda-tests]=0 [bench-dtrain]=90 [bench-trainer]=120)
else  # one H200 and 16 cores: 540 s in all, inside the 10 minutes a lent node gives
  budget=([unpack]=30 [libraries]=20 [configure]=60 [build]=240 [smoke]=15 [cuda-tests]=75 [bench-dtrain]=45 [bench-trainer]=55)
fi
needs=([libraries]=unpack [configure]=unpack [build]=configure [smoke]=build [cuda-tests]=smoke
       [bench-dtrain]=smoke [bench-trainer]=unpack)
[ "$rehearsal" -eq 1 ] && needs[bench-dtrain]=unpack

log=$output/gpu_check.log
: >"$log"
rm -rf "$state" && mkdir -p "$state" "$scratch"
declare -A result seconds
gpus=$(gpu_count)
started=$SECONDS
say() { echo "$*" | tee -a "$log"; }
say "gpu_check: $(date -u '+%Y-%m-%d %H:%M UTC'), $cores cores, $gpus GPU(s) visible to PyTorch, work folder $work"
for stage in "${stages[@]}"; do
  dependency=${needs[$stage]:-}
  if [ -n "$dependency" ] && [ "${result[$dependency]}" != ok ]; then
    result[$stage]="skipped"; echo "$dependency did not succeed" >"$state/$stage"
    say "[$stage] skipped: $dependency did not succeed"; continue
  fi
  if [ "$stage" = cuda-tests ] && [ "$rehearsal" -eq 1 ]; then
    result[$stage]="skipped"; echo "CPU rehearsal" >"$state/$stage"; say "[$stage] skipped: CPU rehearsal"; continue
  fi
  if [[ "$stage" =~ ^(smoke|cuda-tests|bench-dtrain|bench-trainer)$ ]] && [ "$rehearsal" -eq 0 ] && [ "$gpus" -eq 0 ]; then
    result[$stage]="failed"; echo "no GPU visible to PyTorch ($python_bin)" >"$state/$stage"
    say "[$stage] failed: no GPU visible to PyTorch"; continue
  fi
  say "[$stage] starting, budget ${budget[$stage]} s (${SECONDS}s since start)"
  stage_start=$SECONDS
  set +e
  timeout -k 10 "${budget[$stage]}" "$BASH" "$self" --stage "$stage" --packages "$packages" --output "$output" \
    --python "$python_bin" --work "$work" --steps "$steps" ${rehearsal_dtrain:+--rehearsal --dtrain "$rehearsal_dtrain"} \
    >>"$log" 2>&1
  status=$?
  set -e
  seconds[$stage]=$((SECONDS - stage_start))
  case $status in
    0) result[$stage]=ok ;;
    124 | 137) result[$stage]="over budget" ;;
    *) result[$stage]=failed ;;
  esac
  # A stage that stopped without saying why: the last lines of its output.
  [ -s "$state/$stage" ] || tail -3 "$log" | tr '\n' ' ' | cut -c1-300 >"$state/$stage"
  say "[$stage] ${result[$stage]} in ${seconds[$stage]} s: $(cat "$state/$stage")"
done
total=$((SECONDS - started))

# ---- the report ----
json_field() { "$python_bin" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null || echo ""; }
dtrain_rate="" trainer_rate=""
[ "${result[bench-dtrain]}" = ok ] && dtrain_rate=$(json_field "$scratch/bench-dtrain.json" samples_per_second)
[ "${result[bench-trainer]}" = ok ] && trainer_rate=$(json_field "$scratch/bench-trainer.json" samples_per_second)
ratio=""
if [ -n "$dtrain_rate" ] && [ -n "$trainer_rate" ]; then
  ratio=$("$python_bin" -c "print(f'{$dtrain_rate / $trainer_rate:.2f}')")
fi
device_name=$("$python_bin" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU")' 2>/dev/null || echo "?")
torch_version=$("$python_bin" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null || echo "?")
shape="BERT-base (12x768, 12 heads), sequence 128, batch 32, fp16"
[ "$rehearsal" -eq 1 ] && shape="tiny BERT (2x64, CPU rehearsal), sequence 128, batch 8, fp32"
failed=0
{
  echo "# dtrain GPU check"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'): $device_name, $cores cores, PyTorch $torch_version," \
       "dtrain $(git -C "$repo" describe --always --dirty 2>/dev/null || echo '?')${rehearsal_dtrain:+ (CPU rehearsal)}"
  echo
  echo "| stage | result | seconds | budget | detail |"
  echo "|---|---|---:|---:|---|"
  for stage in "${stages[@]}"; do
    case "${result[$stage]}" in ok | skipped) ;; *) failed=1 ;; esac
    echo "| $stage | ${result[$stage]} | ${seconds[$stage]:-} | ${budget[$stage]} | $(cat "$state/$stage" 2>/dev/null | tr '|' '/') |"
  done
  echo "| total | | $total | | |"
  echo
  echo "Training throughput, $shape, random init, $steps timed steps after $warmup:"
  echo
  echo "| model | dtrain samples/s | Trainer samples/s | dtrain / Trainer |"
  echo "|---|---:|---:|---:|"
  echo "| BERT (sequence classification) | ${dtrain_rate:+$(printf '%.1f' "$dtrain_rate")} | ${trainer_rate:+$(printf '%.1f' "$trainer_rate")} | $ratio |"
} >"$output/gpu_check.md"
cat "$output/gpu_check.md" | tee -a "$log"
echo "gpu_check: $total s; report in $output/gpu_check.md, log in $log"
exit "$failed"
