// bfloat16 GEMM with float32 accumulation: the GEMM of mixed_bfloat16 training.
//
// C := alpha * bf16(op(A)) * bf16(op(B)) + beta * C, then the epilogue of gemm<float>.
//
// Contract (everything gemm<float> promises in lamina/gemm.hpp holds, plus):
// - A, B and C are float32 in memory. Every element of op(A) and op(B) is rounded to bfloat16
//   by round_to_bf16 (below) while it is packed; C, alpha, beta, bias stay float32.
// - Summation order. K is walked in pairs (0,1), (2,3), ... and inside a pair the odd element
//   comes first, each product added to the float32 accumulator with one rounding (RNE):
//       acc = 0; for q in pairs: acc = fl(acc + a[2q+1]*b[2q+1]); acc = fl(acc + a[2q]*b[2q])
//   That is what AVX512_BF16's vdpbf16ps does per lane (the Intel SDM's order; measured to be
//   the same on Zen 4), and the products of two bfloat16 values are exact in float32, so the
//   order above is the whole story. K is split into blocks of at most KC (an even number from
//   the blocking model, the same at every ISA level): block results are combined as
//   C := alpha * acc_block + beta_block * C (beta for the first block, 1 after), like gemm<float>.
//   gemm_bf16_ref below does the same pairs over all of K in one block.
// - Subnormals: vdpbf16ps flushes subnormal inputs and results to zero whatever MXCSR says; the
//   levels without it (emulated on the float32 kernels) follow MXCSR. The bits agree across ISA
//   levels, and with gemm_bf16_ref for k <= KC, when alpha == 1, beta is 0 or 1 and no partial
//   sum is subnormal; otherwise they differ by float32 rounding only.
// - Determinism: bit-identical for every thread count (tiles split, K never split).
// - Dispatch: the AVX512_BF16 kernels (vdpbf16ps, pair-interleaved bf16 panels; a 16 x 16
//   tile for outputs of at most 16 columns, else 12 x 32) at the `avx512_bf16` ISA level; below it (avx512, avx2, generic) the operands are rounded to bf16
//   while packing into float32 panels, K pairs swapped, and that level's float32 micro-kernel
//   computes the same sums. AMX-BF16 is not implemented (no AMX on the machines it was
//   developed on, so nothing here could be tested).
#pragma once

#include <cstdint>

#include "lamina/gemm.hpp"

namespace lamina {

// float32 -> nearest bfloat16 (ties to even), returned as the float32 it denotes (low 16 bits
// zero), exactly as VCVTNEPS2BF16 converts: subnormals (and zeros) become a zero of the same
// sign, infinities stay, a NaN stays a NaN of the same sign and top payload with the quiet bit
// set, finite values past the largest bfloat16 round to infinity.
float round_to_bf16(float x);
// The 16 bits of that bfloat16.
std::uint16_t bf16_bits(float x);

// C (m, n) := alpha * bf16(op(A)) (m, k) * bf16(op(B)) (k, n) + beta * C, then bias / relu /
// post. Shapes, leading dimensions, beta == 0, epilogue and max_threads as in gemm<float>.
void gemm_bf16(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
               float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
               float beta, float* c, std::int64_t ldc,
               const GemmEpilogue<float>* epilogue = nullptr, int max_threads = 0);

// Same contract, naive loops: each operand rounded with round_to_bf16, K in the pair order
// above in one block, then c = alpha * acc + beta * c (beta == 0: c not read), bias, relu,
// post once on the whole of C.
void gemm_bf16_ref(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float* a, std::int64_t lda, const float* b,
                   std::int64_t ldb, float beta, float* c, std::int64_t ldc,
                   const GemmEpilogue<float>* epilogue = nullptr);

// Name of the kernel gemm_bf16 uses at the active ISA level ("gemm_avx512bf16_12x32", or the
// emulation's "bf16emu+gemm_avx512_f32_12x32").
const char* gemm_bf16_kernel_name();
// The blocks gemm_bf16 uses at the active level (MR, NR of its kernel; KC is even).
GemmBlocks gemm_bf16_blocks();

// Multiply-add peak of vdpbf16ps on one core, GFLOP/s (2 flop per bf16 product), the best of
// repeated timed runs of independent chains over about `seconds`; 0 where the CPU has no
// AVX512_BF16 or the active level is below avx512_bf16. For benchmarks.
double bf16_dot_peak_gflops(double seconds);

}  // namespace lamina
