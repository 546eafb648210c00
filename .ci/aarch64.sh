#!/usr/bin/env bash
# Builds lamina's whole extension for aarch64 (the generic kernels: the AVX islands are left
# out because the compiler targets aarch64, see cpp/CMakeLists.txt) with zig's clang, and runs
# tests under QEMU user-mode emulation with Debian's arm64 CPython and numpy's aarch64 wheel.
# Not part of .ci/run: it needs apt (qemu-user, the arm64 .debs) and emulation is slow.
#
#   bash .ci/aarch64.sh [TEST FILE ...]     (default: a subset; `tests` runs everything)
#
# Needs, once, as root: apt-get install -y qemu-user && dpkg --add-architecture arm64 &&
# apt-get update. The arm64 Python (Debian bookworm's 3.11) is unpacked into a sysroot with
# `apt-get download` + `dpkg-deb -x`, nothing is installed into the system. The first zig
# compile for aarch64 builds libc++ for it (minutes; cached in ~/.cache/zig).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
base=${LAMINA_ARM64_DIR:-$root/build/aarch64}
sysroot=$base/sysroot
site=$base/site-packages   # the tests check that lamina is imported from a site-packages
build=$base/cmake
pyver=3.11
soabi=cpython-311-aarch64-linux-gnu
command -v qemu-aarch64 >/dev/null || { echo "no qemu-aarch64: apt-get install -y qemu-user"; exit 1; }
mkdir -p "$base"

if [ ! -x "$sysroot/usr/bin/python$pyver" ]; then
  echo "== arm64 CPython $pyver from Debian into $sysroot"
  dpkg --print-foreign-architectures | grep -qx arm64 || {
    echo "dpkg has no arm64 architecture: dpkg --add-architecture arm64 && apt-get update"; exit 1; }
  mkdir -p "$base/debs" "$sysroot"
  (cd "$base/debs" && apt-get download \
    python$pyver-minimal:arm64 libpython$pyver-minimal:arm64 libpython$pyver-stdlib:arm64 \
    libpython$pyver-dev:arm64 libc6:arm64 libexpat1:arm64 zlib1g:arm64 libffi8:arm64 \
    libssl3:arm64 libbz2-1.0:arm64 liblzma5:arm64 libsqlite3-0:arm64 libncursesw6:arm64 \
    libtinfo6:arm64 libreadline8:arm64 libuuid1:arm64 libdb5.3:arm64 libgdbm6:arm64 \
    libgdbm-compat4:arm64 libcrypt1:arm64 libnsl2:arm64 libtirpc3:arm64 \
    libgssapi-krb5-2:arm64 libkrb5-3:arm64 libk5crypto3:arm64 libkrb5support0:arm64 \
    libcom-err2:arm64 libkeyutils1:arm64 libgcc-s1:arm64 libstdc++6:arm64 media-types)
  for deb in "$base"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
fi
# The tests start `sys.executable` in subprocesses. Without binfmt_misc (containers) the kernel
# cannot exec an aarch64 binary, so Python runs through a wrapper that hands qemu its own path
# as argv[0] (-0), which CPython takes for sys.executable: the subprocesses run the wrapper.
pyarm=("$sysroot/usr/bin/python$pyver-qemu")
cat > "${pyarm[0]}" <<WRAPPER
#!/bin/sh
exec qemu-aarch64 -L "$sysroot" -0 "\$0" "$sysroot/usr/bin/python$pyver" "\$@"
WRAPPER
chmod +x "${pyarm[0]}"

echo "== host tools (zig, pybind11) and the aarch64 wheels lamina's tests need"
tools=$base/tools
[ -x "$tools/bin/python" ] || "${PYTHON:-python3}" -m venv "$tools"
"$tools/bin/python" -m pip install -q ziglang pybind11
if [ ! -f "$site/.unpacked" ]; then
  "$tools/bin/python" -m pip download -q -d "$base/wheels" --only-binary=:all: \
    --platform manylinux2014_aarch64 --python-version $pyver --implementation cp \
    --abi cp${pyver/./} "numpy>=1.23,<2.3" "pytest>=7.4" hypothesis "joblib>=1.3"
  mkdir -p "$site"
  for w in "$base"/wheels/*.whl; do "$tools/bin/python" -m zipfile -e "$w" "$site"; done
  touch "$site/.unpacked"
fi

echo "== 1. the extension, cross-compiled by zig c++ for aarch64-linux-gnu.2.17"
export LAMINA_ZIG_PYTHON=$tools/bin/python LAMINA_ZIG_TARGET=aarch64-linux-gnu.2.17
# FindPython runs a host interpreter of the same minor version for its checks; the headers
# (and pyconfig.h) are the arm64 Python's own. pybind11's LTO probe is answered "no" (lamina
# does not use pybind11's LTO target, and probing makes zig build an LTO libc++: minutes).
hostpy=$(command -v "python$pyver")
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
  -DCMAKE_CXX_COMPILER="$root/.ci/zig-c++" \
  -DCMAKE_CXX_FLAGS="-idirafter $sysroot/usr/include" \
  -DPython_EXECUTABLE="$hostpy" -DPython_INCLUDE_DIR="$sysroot/usr/include/python$pyver" \
  -DPython_SOABI=$soabi -Dpybind11_DIR="$("$tools/bin/python" -m pybind11 --cmakedir)" \
  -DHAS_FLTO_THIN=OFF -DHAS_FLTO_AUTO=OFF -DHAS_FLTO=OFF \
  | grep -E "lamina|Python|pybind11"
cmake --build "$build"
# FindPython leaves SOABI empty here (no aarch64 interpreter to ask): the module is _core.so,
# a suffix every CPython accepts.
so=$(ls "$build"/_core*.so)
file "$so"
rm -rf "$site/lamina"
cp -r python/lamina "$site/lamina"
cp "$so" "$site/lamina/"

echo "== 2. under qemu-aarch64: $("${pyarm[@]}" -c 'import platform; print(platform.machine(), platform.python_version())')"
export PYTHONPATH=$site
(cd "$base" && "${pyarm[@]}" -c \
  'import lamina; i = lamina.cpu_info(); print("lamina", lamina.__version__, i["isa"], i["supported"], i["build"])')
tests=("$@")
[ "${#tests[@]}" -gt 0 ] || tests=(tests/test_package.py tests/test_runtime.py tests/test_gemm.py
                                   tests/test_network.py tests/test_activations.py
                                   tests/test_losses.py tests/test_optim.py tests/test_fit.py)
"${pyarm[@]}" -m pytest -q -p no:cacheprovider "${tests[@]}"
