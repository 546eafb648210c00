// Internal to cpp/gemm/: micro-kernel and packing signatures, and the per-ISA table.
//
// Packed layouts (BLIS style, row-major C):
// - A micro-panel: MR rows of op(A) over kc steps of K, stored k-major: panel[p*MR + i] =
//   op(A)[i, p]. Rows past the end of the matrix are zero.
// - B micro-panel: NR columns of op(B) over kc steps: panel[p*NR + j] = op(B)[p, j]. Columns
//   past the end are zero.
// A micro-kernel computes one MR x NR tile of C from one A and one B micro-panel:
//   C[0:mr, 0:nr] := alpha * A_panel * B_panel + beta * C      (beta == 0: C is not read)
//   then, when `last` (the final K block): c += bias[j] (bias != nullptr), c = max(c, 0) (relu).
// It always computes the full MR x NR tile in registers and stores only mr <= MR rows and
// nr <= NR columns, so the arithmetic of an element never depends on where the tile lies.
//
// Direct kernels (small problems, no packing) have the same store contract but read op(A)
// and op(B) in place through strides (DirectKernel below).
// Files named *_avx2.cpp / *_avx512.cpp define the ISA versions; this header only declares.
#pragma once

#include <cstdint>

#include "lamina/gemm.hpp"

namespace lamina {
namespace gemm_detail {

template <class T>
using Ukernel = void (*)(std::int64_t kc, const T* a, const T* b, T* c, std::int64_t ldc,
                         std::int64_t mr, std::int64_t nr, T alpha, T beta, const T* bias, int act);

// Packing micro-kernel: the Ukernel contract, except that the B micro-panel, a full NR columns
// of op(B), is read in place (rows contiguous: op(B)[p, j] = b[p*ldb + j], j < NR) and also
// written to bdst exactly as pack_b lays it out (kc x NR). The driver calls it for the first
// tile row of a block instead of packing B first; the arithmetic is the Ukernel's. (nr still
// bounds the columns of C stored, as in Ukernel.)
template <class T>
using PackingUkernel = void (*)(std::int64_t kc, const T* a, const T* b, std::int64_t ldb,
                                T* bdst, T* c, std::int64_t ldc, std::int64_t mr,
                                std::int64_t nr, T alpha, T beta, const T* bias, int act);

// Direct (no packing) micro-kernel for small problems: op(A)[i, p] = a[i*rsa + p*csa],
// op(B)[p, j] = b[p*ldb + j] (rows of op(B) contiguous), same store contract as Ukernel.
template <class T>
using DirectKernel = void (*)(std::int64_t kc, const T* a, std::int64_t rsa, std::int64_t csa,
                              const T* b, std::int64_t ldb, T* c, std::int64_t ldc,
                              std::int64_t mr, std::int64_t nr, T alpha, T beta, const T* bias,
                              int act);

// Packs op(A)[0:mc, 0:kc] into ceil(mc/mr) micro-panels of kc*mr values (zero-padded rows).
// `a` points at op(A)[0, 0]: A[i0*lda + p0] when !trans, A[p0*lda + i0] when trans.
template <class T>
using PackA = void (*)(bool trans, std::int64_t mc, std::int64_t kc, const T* a, std::int64_t lda,
                       int mr, T* dst);
// Packs op(B)[0:kc, 0:nc] into ceil(nc/nr) micro-panels of kc*nr values (zero-padded columns).
// `b` points at op(B)[0, 0]: B[p0*ldb + j0] when !trans, B[j0*ldb + p0] when trans.
template <class T>
using PackB = void (*)(bool trans, std::int64_t kc, std::int64_t nc, const T* b, std::int64_t ldb,
                       int nr, T* dst);

template <class T>
struct KernelInfo {
  int mr, nr;           // micro-tile (MC, KC, NC come from the blocking model: blocks())
  Ukernel<T> kernel;
  PackA<T> pack_a;
  PackB<T> pack_b;
  const char* name;
  // Direct kernels (nullptr: the ISA has none, always pack): `direct_wide` covers dmr_wide x
  // dnr_wide tiles, `direct_narrow` dmr_narrow x dnr_narrow tiles for outputs with n <= dnr_narrow.
  DirectKernel<T> direct_wide;
  int dmr_wide, dnr_wide;
  DirectKernel<T> direct_narrow;
  int dmr_narrow, dnr_narrow;
  // Packs an untransposed B while computing the first tile row (nullptr: pack_b first).
  PackingUkernel<T> kernel_packb;
};

struct IsaKernels {
  KernelInfo<float> f32;
  KernelInfo<double> f64;
};

// The table for an ISA level (0 generic, 1 avx2, 2 avx512, 3 avx512_bf16 = avx512's; see
// lamina::Isa). Levels whose kernels are not compiled (non-x86) fall back to the generic entry.
const IsaKernels& kernels_for(int isa);

template <class T>
const KernelInfo<T>& kernel_info(int isa);

// The blocks in use for an ISA level and dtype (blocking.cpp: the model applied to
// cache_sizes(), recomputed when they change). MC: rows of op(A) packed per round, multiple of
// MR; KC: the largest K block; NC: columns of op(B) per task, multiple of NR.
const GemmBlocks& blocks(int isa, bool f64);
// The model itself (blocking.cpp) for an MR x NR kernel on `bytes`-byte panel elements;
// kc_fixed > 0 fixes KC instead of deriving it (NC and MC follow from it).
GemmBlocks gemm_blocks_model(const CacheSizes& caches, int mr, int nr, int bytes,
                             std::int64_t kc_fixed);
// The cache sizes those blocks were computed from (read per call without a lock).
const CacheSizes& model_caches();

// ---- baseline packing (pack.cpp) ----
template <class T>
void pack_a_ref(bool trans, std::int64_t mc, std::int64_t kc, const T* a, std::int64_t lda, int mr,
                T* dst);
template <class T>
void pack_b_ref(bool trans, std::int64_t kc, std::int64_t nc, const T* b, std::int64_t ldb, int nr,
                T* dst);

// ---- micro-kernels ----
// Generic C++ (ukernel_ref.cpp).
void gemm_ref_f32_4x8(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                      std::int64_t mr, std::int64_t nr, float alpha, float beta, const float* bias,
                      int act);
void gemm_ref_f64_4x4(std::int64_t kc, const double* a, const double* b, double* c,
                      std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha, double beta,
                      const double* bias, int act);

#if defined(LAMINA_X86)
// AVX2 + FMA (ukernel_avx2.cpp): 16 ymm registers.
void gemm_avx2_f32_6x16(std::int64_t kc, const float* a, const float* b, float* c,
                        std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                        float beta, const float* bias, int act);
void gemm_avx2_f64_6x8(std::int64_t kc, const double* a, const double* b, double* c,
                       std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                       double beta, const double* bias, int act);
void gemm_avx2_f32_6x16_packb(std::int64_t kc, const float* a, const float* b,
                              std::int64_t ldb, float* bdst, float* c, std::int64_t ldc,
                              std::int64_t mr, std::int64_t nr, float alpha, float beta,
                              const float* bias, int act);
void gemm_avx2_f64_6x8_packb(std::int64_t kc, const double* a, const double* b,
                             std::int64_t ldb, double* bdst, double* c, std::int64_t ldc,
                             std::int64_t mr, std::int64_t nr, double alpha, double beta,
                             const double* bias, int act);
void gemm_avx2_f32_direct_6x16(std::int64_t kc, const float* a, std::int64_t rsa,
                               std::int64_t csa, const float* b, std::int64_t ldb, float* c,
                               std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                               float beta, const float* bias, int act);
void gemm_avx2_f32_direct_12x8(std::int64_t kc, const float* a, std::int64_t rsa,
                               std::int64_t csa, const float* b, std::int64_t ldb, float* c,
                               std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                               float beta, const float* bias, int act);
void gemm_avx2_f64_direct_6x8(std::int64_t kc, const double* a, std::int64_t rsa,
                              std::int64_t csa, const double* b, std::int64_t ldb, double* c,
                              std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                              double beta, const double* bias, int act);
void gemm_avx2_f64_direct_12x4(std::int64_t kc, const double* a, std::int64_t rsa,
                               std::int64_t csa, const double* b, std::int64_t ldb, double* c,
                               std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                               double beta, const double* bias, int act);
// AVX2 float32 packing (pack_avx2.cpp), same contract as pack_a_ref / pack_b_ref for mr <= 8
// and nr a multiple of 8.
void pack_a_avx2_f32(bool trans, std::int64_t mc, std::int64_t kc, const float* a,
                     std::int64_t lda, int mr, float* dst);
void pack_b_avx2_f32(bool trans, std::int64_t kc, std::int64_t nc, const float* b,
                     std::int64_t ldb, int nr, float* dst);

// AVX-512 (ukernel_avx512.cpp): 32 zmm registers.
void gemm_avx512_f32_12x32(std::int64_t kc, const float* a, const float* b, float* c,
                           std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                           float beta, const float* bias, int act);
void gemm_avx512_f64_12x16(std::int64_t kc, const double* a, const double* b, double* c,
                           std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                           double beta, const double* bias, int act);
void gemm_avx512_f32_12x32_packb(std::int64_t kc, const float* a, const float* b,
                                 std::int64_t ldb, float* bdst, float* c, std::int64_t ldc,
                                 std::int64_t mr, std::int64_t nr, float alpha, float beta,
                                 const float* bias, int act);
void gemm_avx512_f64_12x16_packb(std::int64_t kc, const double* a, const double* b,
                                 std::int64_t ldb, double* bdst, double* c, std::int64_t ldc,
                                 std::int64_t mr, std::int64_t nr, double alpha, double beta,
                                 const double* bias, int act);
void gemm_avx512_f32_direct_8x32(std::int64_t kc, const float* a, std::int64_t rsa,
                                 std::int64_t csa, const float* b, std::int64_t ldb, float* c,
                                 std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                                 float beta, const float* bias, int act);
void gemm_avx512_f32_direct_12x16(std::int64_t kc, const float* a, std::int64_t rsa,
                                  std::int64_t csa, const float* b, std::int64_t ldb, float* c,
                                  std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                                  float beta, const float* bias, int act);
void gemm_avx512_f64_direct_8x16(std::int64_t kc, const double* a, std::int64_t rsa,
                                 std::int64_t csa, const double* b, std::int64_t ldb, double* c,
                                 std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                                 double beta, const double* bias, int act);
void gemm_avx512_f64_direct_12x8(std::int64_t kc, const double* a, std::int64_t rsa,
                                 std::int64_t csa, const double* b, std::int64_t ldb, double* c,
                                 std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                                 double beta, const double* bias, int act);
// AVX-512 float32 packing (pack_avx512.cpp), same contract as pack_a_ref / pack_b_ref for
// mr <= 16 and nr a multiple of 16.
void pack_a_avx512_f32(bool trans, std::int64_t mc, std::int64_t kc, const float* a,
                       std::int64_t lda, int mr, float* dst);
void pack_b_avx512_f32(bool trans, std::int64_t kc, std::int64_t nc, const float* b,
                       std::int64_t ldb, int nr, float* dst);
// A tight FMA loop for the peak measurement: 24 independent chains of _mm512_fmadd_ps,
// `iters` rounds (24 * 32 flop each). Returns a value that depends on every chain.
float fma_loop_avx512_f32(std::int64_t iters);
float fma_loop_avx2_f32(std::int64_t iters);
#endif

}  // namespace gemm_detail
}  // namespace lamina
