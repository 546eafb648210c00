// AVX2 + FMA GEMM micro-kernels (ISA island: compiled with -mavx2 -mfma, called only through
// the table in kernel_table.cpp when lamina::active_isa() is avx2).
//
// Contract (see ukernels.hpp): one MR x NR tile of row-major C from packed panels,
//   a: kc steps of MR values, b: kc steps of NR values;
//   C[0:mr, 0:nr] := alpha * (a . b) + beta * C  (beta == 0: C not read), then + bias, relu.
// 16 ymm registers: MR x (NR/L) accumulators + NR/L B vectors + one broadcast.
// Partial tiles (nr < NR) go through a small stack row, so no masked loads are needed; a
// partial row panel (mr <= 4) runs a 2- or 4-row tile (kernel_rows).
// The *_packb variants (PackingUkernel, full B panels only) read the B micro-panel from op(B)
// in place and write it to the packed buffer as they go.
#include <immintrin.h>

#include <cstdint>

#include "lamina/compiler.hpp"
#include "ukernels.hpp"

namespace lamina {
namespace gemm_detail {
namespace {

// Rows of op(B) the packing kernel prefetches ahead (see ukernel_avx512.cpp).
constexpr int kPackAhead = 32;
// K steps of the A panel prefetched ahead (16 x 24 B: 6 lines). The driver walks all B
// micro-panels of a block against one A panel, so the first call on each panel reads it from
// L3 (the packed A of 1024^3 is 4 MiB), at a new line every ~2.7 K steps, which the hardware
// prefetcher left exposed: emulated 1024^3 tasks (packed panels, no packing) ran at 103 GFLOP/s
// without and 106 with it, 8 or 32 steps ahead 103-104 (Zen 4, LAMINA_ISA=avx2, 1 thread);
// on L1-resident panels it costs nothing (113.6 vs 113.3).
constexpr int kAAhead = 16;
// K steps of the packed B micro-panel prefetched ahead (8 x 64 B for the float32 6x16 tile). The
// micro-panel (KC x NR, 64 KiB at KC = 1024) streams from L2, one line per K step, and the L2
// hardware prefetcher alone let it stall whenever the core was shared: on a contended AMD EPYC
// Zen 3 guest (512 KiB L2), 1 thread, lamina / OpenBLAS in the same process, medians over 3-5
// alternating processes per build, no prefetch vs 8 ahead: (128x784)(784x512) 0.87-0.97 vs
// 0.95-0.98, (784x128)^T(128x512) 0.84-0.97 vs 0.95-1.01, (128x512)(512x784)^T 0.85-0.99 vs
// 0.95-1.02, 1024^3 0.85-0.93 vs 0.96-0.99; 4 ahead 0.90-0.98, 16 ahead 0.94-0.99.
constexpr int kBAhead = 8;

struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int L = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V load(const T* p) { return _mm256_load_ps(p); }
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_store_ps(p, v); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  // Lane mask for the first n (< 0: none, >= 8: all) lanes.
  static __m256i mask(std::int64_t n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n < 0 ? 0 : n > 8 ? 8 : n)), idx);
  }
  static V maskload(const T* p, __m256i m) { return _mm256_maskload_ps(p, m); }
  static void maskstore(T* p, __m256i m, V v) { _mm256_maskstore_ps(p, m, v); }
};

struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int L = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V load(const T* p) { return _mm256_load_pd(p); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_store_pd(p, v); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
  static __m256i mask(std::int64_t n) {
    const __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n < 0 ? 0 : n > 4 ? 4 : n), idx);
  }
  static V maskload(const T* p, __m256i m) { return _mm256_maskload_pd(p, m); }
  static void maskstore(T* p, __m256i m, V v) { _mm256_maskstore_pd(p, m, v); }
};

// PACK: the B micro-panel (a full NR columns) is read from op(B) in place (row p at
// b + p*ldb) and also written to bdst in the packed layout: the first tile row of a block
// packs B while it computes, with the arithmetic of the packed call.
// MR rows of the tile are computed, from an A panel of PMR >= MR rows per K step.
template <class S, int MR, int NV, bool PACK, int PMR = MR>
LAMINA_ALWAYS_INLINE void kernel(std::int64_t kc, const typename S::T* a,
                                 const typename S::T* b, std::int64_t ldb,
                                 typename S::T* bdst, typename S::T* c,
                                 std::int64_t ldc, std::int64_t mr,
                                 std::int64_t nr, typename S::T alpha,
                                 typename S::T beta, const typename S::T* bias,
                                 int act) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int NR = NV * S::L;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();

  for (std::int64_t p = 0; p < kc; ++p) {
    V bv[NV];
    _mm_prefetch(reinterpret_cast<const char*>(a + kAAhead * PMR), _MM_HINT_T0);
    if (PACK) {
      // Rows of op(B) are ldb apart: prefetch kPackAhead rows ahead, running on into the
      // next micro-panel's first rows.
      const char* ahead = reinterpret_cast<const char*>(
          p + kPackAhead < kc ? b + kPackAhead * ldb : b + NR + (kPackAhead - kc) * ldb);
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + NR * sizeof(T) - 1, _MM_HINT_T0);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        bv[v] = S::loadu(b + v * S::L);
        S::store(bdst + v * S::L, bv[v]);
      }
      b += ldb;
      bdst += NR;
    } else {
      _mm_prefetch(reinterpret_cast<const char*>(b + kBAhead * NR), _MM_HINT_T0);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = S::load(b + v * S::L);
      b += NR;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V av = S::set1(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(av, bv[v], acc[i][v]);
    }
    a += PMR;
  }

  const V va = S::set1(alpha), vb = S::set1(beta);
  const bool read_c = beta != 0;
  const bool relu = act == 1;
  const bool full = nr >= NR;
  if (full && !bias && !relu) {
    // The common store (every K block but the last, and GEMMs without an epilogue) in
    // straight-line code, the arithmetic of the general path below: the general path's
    // per-row tests cost 1.6% at kc = 128 (L1-resident panels, 113.4 vs 111.6 GFLOP/s) and
    // 1.4% on (784x128)^T(128x512) (Zen 4, LAMINA_ISA=avx2, 1 thread, in-process A/B).
    if (read_c) {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        if (i >= mr) break;
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          T* d = c + i * ldc + v * S::L;
          S::storeu(d, S::fmadd(S::loadu(d), vb, S::mul(acc[i][v], va)));
        }
      }
    } else {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        if (i >= mr) break;
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) S::storeu(c + i * ldc + v * S::L, S::mul(acc[i][v], va));
      }
    }
    return;
  }
  alignas(32) T bias_row[NR];
  for (int j = 0; j < NR; ++j) bias_row[j] = (bias && j < nr) ? bias[j] : T(0);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    T* cr = c + i * ldc;
    alignas(32) T row[NR];
    T* dst = full ? cr : row;
    if (!full && read_c)
      for (int j = 0; j < NR; ++j) row[j] = j < nr ? cr[j] : T(0);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      V r = S::mul(acc[i][v], va);
      if (read_c) r = S::fmadd(S::loadu(dst + v * S::L), vb, r);
      if (bias) r = S::add(r, S::load(bias_row + v * S::L));
      if (relu) r = S::max(S::zero(), r);  // maxps returns its 2nd operand on NaN
      S::storeu(dst + v * S::L, r);
    }
    if (!full)
      for (std::int64_t j = 0; j < nr; ++j) cr[j] = row[j];
  }
}

// Direct (unpacked) variant for small problems: op(A)[i, p] = a[i*rsa + p*csa] and
// op(B)[p, j] = b[p*ldb + j] are read in place; columns past nr are masked off.
// PFD > 0: prefetch the B row PFD steps ahead. Rows of op(B) are ldb apart (1-2 KiB for the
// network shapes), a stride the hardware prefetchers follow poorly, and a 16-wide AVX2 tile
// reaches a new row every ~6 cycles at the FMA peak, so an L2 hit (~12-16 cycles on the cores
// with AVX2) stalls the loop; 4 rows (~24 cycles) ahead covers it. In-process A/B on Zen 4
// (LAMINA_ISA=avx2, forced direct path, 11 alternations, 1 thread): (128x256)(256x512)
// +10.6%, (128x512)(512x256) +2.2%, (1024x512)(512x64) +2.9%, 256^3 / 128^3 / small / n = 10
// within +-1%; 8 rows ahead lost 5% on 256^3 and 7% on (128x256)(256x512). The AVX-512 direct
// kernels (twice the work per row) lost 5-8% with it, so they do not prefetch.
template <class S, int MR, int NV, int PFD = 0>
LAMINA_ALWAYS_INLINE void kernel_direct(
    std::int64_t kc, const typename S::T* a, std::int64_t rsa, std::int64_t csa,
    const typename S::T* b, std::int64_t ldb, typename S::T* c, std::int64_t ldc,
    std::int64_t mr, std::int64_t nr, typename S::T alpha, typename S::T beta,
    const typename S::T* bias, int act) {
  using V = typename S::V;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
  __m256i masks[NV];
  for (int v = 0; v < NV; ++v) masks[v] = S::mask(nr - v * S::L);
  // Rows past mr repeat the last valid row (computed, never stored).
  std::int64_t off[MR];
  for (int i = 0; i < MR; ++i) off[i] = (i < mr ? i : mr - 1) * rsa;
  const bool full = nr >= NV * S::L;
  for (std::int64_t p = 0; p < kc; ++p) {
    V bv[NV];
    if (PFD) {
      const char* ahead = reinterpret_cast<const char*>(b + PFD * ldb);
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + NV * S::L * sizeof(typename S::T) - 1, _MM_HINT_T0);
    }
    if (full) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = S::loadu(b + v * S::L);
    } else {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = S::maskload(b + v * S::L, masks[v]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V av = S::set1(a[off[i]]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(av, bv[v], acc[i][v]);
    }
    a += csa;
    b += ldb;
  }
  const V va = S::set1(alpha), vb = S::set1(beta);
  const bool read_c = beta != 0;
  const bool relu = act == 1;
  V vbias[NV];
  for (int v = 0; v < NV; ++v) vbias[v] = bias ? S::maskload(bias + v * S::L, masks[v]) : S::zero();
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    typename S::T* cr = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      V r = S::mul(acc[i][v], va);
      if (read_c) r = S::fmadd(full ? S::loadu(cr + v * S::L) : S::maskload(cr + v * S::L, masks[v]), vb, r);
      if (bias) r = S::add(r, vbias[v]);
      if (relu) r = S::max(S::zero(), r);  // maxps returns its 2nd operand on NaN
      if (full) S::storeu(cr + v * S::L, r);
      else S::maskstore(cr + v * S::L, masks[v], r);
    }
  }
}

// The last row panel of a block may hold fewer than 6 rows of op(A) (m = 128: 21 panels of 6,
// then 2 rows): it runs a 2- or 4-row tile over the same 6-row A panel instead of computing 6
// rows and storing mr. Each element's arithmetic is the 6-row tile's (the same FMAs in the
// same order), so results do not depend on where a row lies. (128x784)(784x512): +2.6%,
// (128x512)(512x784)^T +1.2% (Zen 4, LAMINA_ISA=avx2, 1 thread, in-process A/B).
template <class S, int NV, bool PACK>
LAMINA_ALWAYS_INLINE void kernel_rows(std::int64_t kc, const typename S::T* a,
                                      const typename S::T* b, std::int64_t ldb,
                                      typename S::T* bdst, typename S::T* c, std::int64_t ldc,
                                      std::int64_t mr, std::int64_t nr, typename S::T alpha,
                                      typename S::T beta, const typename S::T* bias, int act) {
  if (mr <= 2)
    kernel<S, 2, NV, PACK, 6>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
  else if (mr <= 4)
    kernel<S, 4, NV, PACK, 6>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
  else
    kernel<S, 6, NV, PACK>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
}

}  // namespace

void gemm_avx2_f32_direct_6x16(std::int64_t kc, const float* a, std::int64_t rsa,
                               std::int64_t csa, const float* b, std::int64_t ldb, float* c,
                               std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                               float beta, const float* bias, int act) {
  kernel_direct<F32, 6, 2, 4>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx2_f32_direct_12x8(std::int64_t kc, const float* a, std::int64_t rsa,
                               std::int64_t csa, const float* b, std::int64_t ldb, float* c,
                               std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                               float beta, const float* bias, int act) {
  kernel_direct<F32, 12, 1, 4>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx2_f64_direct_6x8(std::int64_t kc, const double* a, std::int64_t rsa,
                              std::int64_t csa, const double* b, std::int64_t ldb, double* c,
                              std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                              double beta, const double* bias, int act) {
  kernel_direct<F64, 6, 2>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx2_f64_direct_12x4(std::int64_t kc, const double* a, std::int64_t rsa,
                               std::int64_t csa, const double* b, std::int64_t ldb, double* c,
                               std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                               double beta, const double* bias, int act) {
  kernel_direct<F64, 12, 1>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, beta, bias, act);
}

void gemm_avx2_f32_6x16(std::int64_t kc, const float* a, const float* b, float* c,
                        std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                        float beta, const float* bias, int act) {
  kernel_rows<F32, 2, false>(kc, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx2_f32_6x16_packb(std::int64_t kc, const float* a, const float* b,
                              std::int64_t ldb, float* bdst, float* c, std::int64_t ldc,
                              std::int64_t mr, std::int64_t nr, float alpha, float beta,
                              const float* bias, int act) {
  kernel_rows<F32, 2, true>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
}

void gemm_avx2_f64_6x8(std::int64_t kc, const double* a, const double* b, double* c,
                       std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                       double beta, const double* bias, int act) {
  kernel_rows<F64, 2, false>(kc, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx2_f64_6x8_packb(std::int64_t kc, const double* a, const double* b,
                             std::int64_t ldb, double* bdst, double* c, std::int64_t ldc,
                             std::int64_t mr, std::int64_t nr, double alpha, double beta,
                             const double* bias, int act) {
  kernel_rows<F64, 2, true>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
}

float fma_loop_avx2_f32(std::int64_t iters) {
  constexpr int W = 12;
  __m256 acc[W];
  for (int i = 0; i < W; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 x = _mm256_set1_ps(0.99999f), y = _mm256_set1_ps(1e-6f);
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < W; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < W; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float t[8];
  _mm256_store_ps(t, s);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

}  // namespace gemm_detail
}  // namespace lamina
