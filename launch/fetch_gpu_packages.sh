#!/usr/bin/env bash
# Downloads the Debian 12 (amd64) packages that launch/gpu_check.sh unpacks on a GPU node, which has
# PyTorch (LibTorch, CUDA, NCCL), a C++ compiler, CMake and Ninja but no package registry: what dtrain
# builds against besides PyTorch, and the libraries those need at run time, minus what every such
# node already has.
#
#   bash launch/fetch_gpu_packages.sh OUTDIR     # on Debian 12 with apt (root not needed)
#
# OUTDIR then holds exactly the resolved .deb files and packages.txt (one "name version" a line).
# Idempotent: a second run downloads only what changed and removes .deb files no longer wanted.
set -euo pipefail
out=${1:?usage: fetch_gpu_packages.sh OUTDIR}

# What dtrain's CMake finds (cmake/Dependencies.cmake) and its tests link, plus the tools the
# unpacked prefix needs: pkgconf (pkg-config) and patchelf (rewrites library search paths).
wanted=(
  libhdf5-dev hdf5-helpers
  libopenmpi-dev openmpi-bin
  libspdlog-dev libfmt-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libutf8proc-dev
  libssl-dev
  libsentencepiece-dev
  libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev
  pkgconf patchelf
)

# Pruned from their dependencies (regular expressions over package names):
pruned=(
  # the C and C++ runtime and the base system of any Debian/Ubuntu image with a compiler and Python,
  # with the same library names there (libc.so.6, libstdc++.so.6, libzstd.so.1, libffi.so.8, ...)
  'gcc-12-base' 'libc6' 'libgcc-s1' 'libstdc\+\+6' 'libgomp1' 'libatomic1' 'libcrypt1' 'libselinux1'
  'libpcre2-8-0' 'libacl1' 'libtinfo6' 'libzstd1' 'liblzma5' 'libbz2-1\.0' 'libffi8' 'libgmp10'
  'libuuid1' 'libudev1' 'libmd0' 'libbsd0' 'debianutils' 'tar' 'dpkg' 'debconf' 'adduser' 'passwd'
  'perl.*' 'libperl.*' 'libpam.*' 'libaudit.*' 'libcap-ng0' 'libdb5\.3' 'libgdbm.*' 'libsemanage.*'
  'libsepol2'
  # the compiler toolchain: dtrain builds with the node's own (the one nvcc uses)
  'binutils.*' 'libbinutils' 'libctf.*' 'libgprofng0' 'libjansson4' 'cpp-12' 'gcc-12' 'gfortran-12'
  'libgcc-12-dev' 'libgfortran.*' 'libisl23' 'libmpfr6' 'libmpc3' 'libcc1-0' 'libitm1' 'libasan.*' 'liblsan.*' 'libtsan.*' 'libubsan.*'
  'libquadmath0' 'libc6-dev' 'libc-dev-bin' 'linux-libc-dev' 'libcrypt-dev' 'libtirpc.*' 'libnsl.*'
  'rpcsvc-proto' 'm4' 'autoconf' 'automake' 'autotools-dev' 'libltdl.*'
  # dependencies of the -dev packages that dtrain never uses: Fortran and C++ HDF5 bindings, JPEG,
  # hwloc's optional plugins (X11, OpenCL, libxml2 + ICU), the development files of Open MPI's own
  # dependencies, remote launch over ssh, test frameworks' sources, documentation scripts
  'libhdf5-.*fortran.*' 'libhdf5-cpp-.*' 'libhdf5-hl-cpp-.*' 'libjpeg.*' 'libhwloc-plugins'
  'libpciaccess0' 'libx11.*' 'libxau6' 'libxdmcp6' 'libxcb1' 'libxext6' 'libxnvctrl0'
  'ocl-icd-libopencl1' 'libxml2' 'libicu.*' 'libhwloc-dev' 'libevent-dev' 'libnuma-dev'
  'libibverbs-dev' 'libnl-3-dev' 'libnl-route-3-dev' 'libpmix-dev' 'openssh-client' 'libedit2'
  'libfido2-1' 'libcbor0\.8' 'googletest' 'catch2' 'libjs-.*'
)

apt_options=(-o APT::Architecture=amd64 -o APT::Get::Show-Versions=0)
empty_status=$(mktemp)
trap 'rm -f "$empty_status"' EXIT

# Resolves against an empty system (so every dependency appears, each OR-group's first choice).
resolve() {
  apt-get "${apt_options[@]}" -s -o Dir::State::status="$empty_status" install --no-install-recommends \
    "${wanted[@]}" 2>&1
}
if ! resolution=$(resolve); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "fetch_gpu_packages: refreshing apt's package lists"
    apt-get update -qq
    resolution=$(resolve) || { echo "$resolution" >&2; exit 1; }
  else
    echo "$resolution" >&2
    echo "fetch_gpu_packages: apt cannot resolve the packages; run 'apt-get update' as root first" >&2
    exit 1
  fi
fi

pruned_names=$(IFS='|'; echo "${pruned[*]}")
# "Inst NAME (VERSION ARCHIVES [ARCH])" lines: the packages apt would install, with their versions.
mapfile -t selected < <(echo "$resolution" | awk '$1 == "Inst" { sub(/^\(/, "", $3); print $2, $3 }' |
                        grep -Ev "^($pruned_names) " | sort)
selected_list=$(printf '%s\n' "${selected[@]}")
for package in "${wanted[@]}"; do
  # A here-string, not a pipe: grep -q stops reading early, which pipefail would count as a failure.
  grep -q "^$package " <<<"$selected_list" ||
    { echo "fetch_gpu_packages: $package did not resolve (or is pruned)" >&2; exit 1; }
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
declare -A keep=()
missing=()
for entry in "${selected[@]}"; do
  name=${entry% *} version=${entry#* }
  file="${name}_${version//:/%3a}_amd64.deb"
  [ -f "$out/$file" ] || [ -f "$out/${name}_${version//:/%3a}_all.deb" ] || missing+=("$name=$version")
  keep["$file"]=1
  keep["${name}_${version//:/%3a}_all.deb"]=1
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fetch_gpu_packages: downloading ${#missing[@]} of ${#selected[@]} packages into $out"
  # As root, apt warns that its _apt user cannot write into OUTDIR; the download works regardless.
  (cd "$out" && apt-get "${apt_options[@]}" -qq download "${missing[@]}" 2>&1 | grep -v "unsandboxed" >&2 || true)
fi
for file in "$out"/*.deb; do
  [ -n "${keep[$(basename "$file")]:-}" ] || { echo "fetch_gpu_packages: removing stale $(basename "$file")"; rm -f "$file"; }
done
for entry in "${selected[@]}"; do
  name=${entry% *} version=${entry#* }
  ls "$out/${name}_${version//:/%3a}_"*.deb >/dev/null 2>&1 ||
    { echo "fetch_gpu_packages: $name $version was not downloaded" >&2; exit 1; }
done
printf '%s\n' "${selected[@]}" >"$out/packages.txt"
echo "fetch_gpu_packages: ${#selected[@]} packages, $(du -sh --apparent-size "$out" | cut -f1) in $out"
