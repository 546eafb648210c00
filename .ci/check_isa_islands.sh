#!/usr/bin/env bash
# Builds the C++ core on its own and checks that only *_avx2 / *_avx512 / *_avx512_bf16 objects
# contain AVX2 (ymm) or AVX-512 (zmm / k-mask) instructions: the baseline objects must run on any
# x86-64; and that only *_avx512_bf16 objects contain AVX512_BF16 instructions (vdpbf16ps,
# vcvtne*ps2bf16): an AVX-512 CPU without them runs the *_avx512 objects.
set -euo pipefail
build="${1:-build/ci-core}"
cmake -S cpp -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" >/dev/null
mapfile -t objects < <(find "$build" -name '*.o' | sort)
[ "${#objects[@]}" -gt 0 ] || { echo "no object files under $build"; exit 1; }
bad=0
for obj in "${objects[@]}"; do
  name=$(basename "$obj")
  case "$name" in
    *_avx512_bf16.cpp.o) continue ;;
    *_avx512.cpp.o)
      if objdump -d --no-show-raw-insn "$obj" | grep -Eq '\bv(dpbf16ps|cvtne2?ps2bf16)'; then
        echo "AVX512_BF16 instruction in AVX-512 object $name"; bad=1
      fi ;;
    *_avx2.cpp.o)
      if objdump -d --no-show-raw-insn "$obj" | grep -Eq '%zmm|%k[1-7]'; then
        echo "AVX-512 instruction in AVX2 object $name"; bad=1
      fi ;;
    *)
      if objdump -d --no-show-raw-insn "$obj" | grep -Eq '%ymm|%zmm|%k[1-7]|\bv[a-z0-9]+\s'; then
        echo "AVX instruction in baseline object $name:"
        objdump -d --no-show-raw-insn "$obj" | grep -E '%ymm|%zmm|%k[1-7]|\bv[a-z0-9]+\s' | head -5
        bad=1
      fi ;;
  esac
done
[ "$bad" -eq 0 ] && echo "ISA islands OK: ${#objects[@]} objects checked"
exit "$bad"
