// Internal to cpp/gemm/: the bf16 GEMM's kernels and packers (contract: lamina/gemm_bf16.hpp).
//
// A bf16 plan packs op(A) and op(B) into panels of element type P and runs one micro-kernel on
// them; the driver (gemm_bf16.cpp) is the one of gemm<float> (gemm.cpp) with these packers.
// K is padded to an even kp = kc + (kc & 1) (the pad is zero in both panels).
// - Native (P = uint16_t, bfloat16 bits; ukernel_avx512_bf16.cpp): K pairs interleaved, the
//   layout vdpbf16ps reads. A micro-panel: pair q, row i at 32-bit word q*MR + i, holding
//   (bf16(op(A)[i, 2q]) low, bf16(op(A)[i, 2q+1]) high). B micro-panel: pair q, column j at word
//   q*NR + j, holding (bf16(op(B)[2q, j]), bf16(op(B)[2q+1, j])). Rows / columns past the end
//   are zero.
// - Emulated (P = float; pack_bf16.cpp): the float32 layout of ukernels.hpp over kp steps with
//   the values rounded to bf16 and the two steps of every pair swapped (step 2q holds
//   K index 2q+1, step 2q+1 holds 2q), so a float32 micro-kernel that accumulates its steps in
//   order, one rounding each, adds the products in the order vdpbf16ps does.
// Packers: op(A)[0:mc, 0:kc] -> ceil(mc/mr) panels of mr*kp values; op(B)[0:kc, 0:nc] ->
// ceil(nc/nr) panels of nr*kp values; `a` / `b` point at op(X)[0, 0] as in ukernels.hpp.
// Kernels: the Ukernel store contract of ukernels.hpp over kp (even) packed K steps.
#pragma once

#include <cstdint>

#include "lamina/gemm.hpp"

namespace lamina {
namespace gemm_detail {

template <class P>
struct Bf16Plan {
  int mr, nr;
  void (*kernel)(std::int64_t kp, const P* a, const P* b, float* c, std::int64_t ldc,
                 std::int64_t mr, std::int64_t nr, float alpha, float beta, const float* bias,
                 int act);
  void (*pack_a)(bool trans, std::int64_t mc, std::int64_t kc, const float* a, std::int64_t lda,
                 int mr, P* dst);
  void (*pack_b)(bool trans, std::int64_t kc, std::int64_t nc, const float* b, std::int64_t ldb,
                 int nr, P* dst);
  const char* name;
  // Packs an untransposed B (a full NR columns) while computing the first tile row, as
  // gemm.cpp's kernel_packb: reads op(B)[0:kc, 0:NR] rows in place (b + p*ldb), writes the
  // packed panel to bdst, same arithmetic as `kernel` (nullptr: pack_b first).
  void (*kernel_packb)(std::int64_t kc, const P* a, const float* b, std::int64_t ldb, P* bdst,
                       float* c, std::int64_t ldc, std::int64_t mr, std::int64_t nr,
                       float alpha, float beta, const float* bias, int act);
};

// The emulated plan of an ISA level (its float32 kernel, rounding packers): pack_bf16.cpp.
const Bf16Plan<float>& bf16_emulated_plan(int isa);

// Rounds n floats to bf16 (round_to_bf16) and swaps each pair of `step`-float rows:
// rows 2q and 2q+1 of a (2 * npairs) x step block trade places. Baseline C++ (pack_bf16.cpp).
void round_swap_pairs(float* x, std::int64_t npairs, std::int64_t step);

#if defined(LAMINA_X86)
// AVX512_BF16 (ukernel_avx512_bf16.cpp): 12 x 32 tile, 24 zmm accumulators.
constexpr int kBf16Mr = 12, kBf16Nr = 32;
void gemm_avx512bf16_12x32(std::int64_t kp, const std::uint16_t* a, const std::uint16_t* b,
                           float* c, std::int64_t ldc, std::int64_t mr, std::int64_t nr,
                           float alpha, float beta, const float* bias, int act);
// The narrow kernel (outputs of at most 16 columns, e.g. a 10-class layer): 16 x 16 tile,
// 16 zmm accumulators, the same per-element sums.
constexpr int kBf16NarrowMr = 16, kBf16NarrowNr = 16;
void gemm_avx512bf16_16x16(std::int64_t kp, const std::uint16_t* a, const std::uint16_t* b,
                           float* c, std::int64_t ldc, std::int64_t mr, std::int64_t nr,
                           float alpha, float beta, const float* bias, int act);
void gemm_avx512bf16_12x32_packb(std::int64_t kc, const std::uint16_t* a, const float* b,
                                 std::int64_t ldb, std::uint16_t* bdst, float* c,
                                 std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                                 float beta, const float* bias, int act);
void pack_a_avx512bf16(bool trans, std::int64_t mc, std::int64_t kc, const float* a,
                       std::int64_t lda, int mr, std::uint16_t* dst);
void pack_b_avx512bf16(bool trans, std::int64_t kc, std::int64_t nc, const float* b,
                       std::int64_t ldb, int nr, std::uint16_t* dst);
// 24 independent chains of vdpbf16ps, `iters` rounds (24 * 64 flop each).
float dot_loop_avx512bf16(std::int64_t iters);
#else
constexpr int kBf16Mr = 12, kBf16Nr = 32;
constexpr int kBf16NarrowMr = 16, kBf16NarrowNr = 16;
#endif

}  // namespace gemm_detail
}  // namespace lamina
