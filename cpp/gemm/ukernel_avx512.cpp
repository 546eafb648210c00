// AVX-512 GEMM micro-kernels (ISA island: compiled with -mavx512f/dq/bw/vl, called only
// through the table in kernel_table.cpp when lamina::active_isa() is avx512).
//
// Contract (see ukernels.hpp): one MR x NR tile of row-major C from packed panels,
//   a: kc steps of MR values (op(A) column slices), b: kc steps of NR values (op(B) rows).
//   C[0:mr, 0:nr] := alpha * (a . b) + beta * C  (beta == 0: C not read), then + bias, relu.
// Vectors run along N (a row of C), A values are broadcast: MR x (NR/16) zmm accumulators.
// The *_packb variants (PackingUkernel) read the B micro-panel from op(B) in place and write
// it to the packed buffer as they go (full B panels only); same arithmetic, same bits.
// Nothing from shared headers is instantiated here (no <algorithm>, no std:: templates).
#include <immintrin.h>

#include <cstdint>

#include "lamina/compiler.hpp"
#include "ukernels.hpp"

namespace lamina {
namespace gemm_detail {
namespace {
// Rows of op(B) the packing kernel prefetches ahead: at ~12 cycles a row, 32 rows cover an L3
// hit and most of a DRAM miss (measured: 12 rows ahead left the first tile row 5x slower).
constexpr int kPackAhead = 32;

struct F32 {
  using T = float;
  using V = __m512;
  using M = __mmask16;
  static constexpr int L = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_load_ps(p); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_store_ps(p, v); }
  static V maskz_loadu(M m, const T* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static void mask_storeu(T* p, M m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  // maskz form: GCC 12's plain _mm512_max_ps warns about an undefined source operand.
  static V max(V a, V b) { return _mm512_maskz_max_ps(0xFFFF, a, b); }
  static M mask(std::int64_t n) {
    return n >= 16 ? static_cast<M>(0xFFFF) : static_cast<M>((1u << n) - 1u);
  }
};

struct F64 {
  using T = double;
  using V = __m512d;
  using M = __mmask8;
  static constexpr int L = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V load(const T* p) { return _mm512_load_pd(p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_store_pd(p, v); }
  static V maskz_loadu(M m, const T* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static void mask_storeu(T* p, M m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V max(V a, V b) { return _mm512_maskz_max_pd(0xFF, a, b); }
  static M mask(std::int64_t n) {
    return n >= 8 ? static_cast<M>(0xFF) : static_cast<M>((1u << n) - 1u);
  }
};

// Stores one finished row of accumulators: r = alpha*acc (+ beta*C) (+ bias) (relu).
template <class S, int NV>
LAMINA_ALWAYS_INLINE void store_row(typename S::T* c, typename S::V* acc,
                                    typename S::V va, typename S::V vb,
                                    bool read_c, const typename S::V* vbias,
                                    bool relu, const typename S::M* masks,
                                    bool full) {
  for (int v = 0; v < NV; ++v) {
    typename S::V r = S::mul(acc[v], va);
    if (full) {
      if (read_c) r = S::fmadd(S::loadu(c + v * S::L), vb, r);
      if (vbias) r = S::add(r, vbias[v]);
      if (relu) r = S::max(S::zero(), r);  // maxps returns its 2nd operand on NaN
      S::storeu(c + v * S::L, r);
    } else {
      if (!masks[v]) continue;
      if (read_c) r = S::fmadd(S::maskz_loadu(masks[v], c + v * S::L), vb, r);
      if (vbias) r = S::add(r, vbias[v]);
      if (relu) r = S::max(S::zero(), r);  // maxps returns its 2nd operand on NaN
      S::mask_storeu(c + v * S::L, masks[v], r);
    }
  }
}

// PACK: the B micro-panel (a full NR columns) is read from op(B) in place (row p at
// b + p*ldb) and also written to bdst in the packed layout, so the first tile row of a block
// packs B while it computes (the same values, the same arithmetic as the packed call).
template <class S, int MR, int NV, bool PACK>
LAMINA_ALWAYS_INLINE void kernel(std::int64_t kc, const typename S::T* a,
                                 const typename S::T* b, std::int64_t ldb,
                                 typename S::T* bdst, typename S::T* c,
                                 std::int64_t ldc, std::int64_t mr,
                                 std::int64_t nr, typename S::T alpha,
                                 typename S::T beta, const typename S::T* bias,
                                 int act) {
  using V = typename S::V;
  constexpr int NR = NV * S::L;
  typename S::M masks[NV];
  for (int v = 0; v < NV; ++v) {
    const std::int64_t left = nr - v * S::L;
    masks[v] = S::mask(left < 0 ? 0 : left);
  }
  // Prefetch every line of the C tile (a rolled loop: no addresses live in the K loop).
  {
    const char* pc = reinterpret_cast<const char*>(c);
#pragma GCC unroll 1
    for (int i = 0; i < MR; ++i, pc += ldc * static_cast<std::int64_t>(sizeof(*c)))
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) _mm_prefetch(pc + 64 * v, _MM_HINT_T0);
  }
  V acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();

  for (std::int64_t p = 0; p < kc; ++p) {
    V bv[NV];
    if (PACK) {
      // Rows of op(B) are ldb apart, each step touches new lines that may come from DRAM:
      // prefetch kPackAhead rows ahead, running on into the next micro-panel's first rows.
      const char* ahead = reinterpret_cast<const char*>(
          p + kPackAhead < kc ? b + kPackAhead * ldb : b + NR + (kPackAhead - kc) * ldb);
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + NR * sizeof(typename S::T) - 1, _MM_HINT_T0);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        // (All lanes set: full panels. Measured 3% faster than a plain loadu here.)
        bv[v] = S::maskz_loadu(masks[v], b + v * S::L);
        S::store(bdst + v * S::L, bv[v]);
      }
      b += ldb;
      bdst += NR;
    } else {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = S::load(b + v * S::L);
      b += NR;
    }
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const V av = S::set1(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(av, bv[v], acc[i][v]);
    }
    a += MR;
  }

  const V va = S::set1(alpha), vb = S::set1(beta);
  const bool read_c = beta != 0;
  const bool relu = act == 1;
  const bool full = nr >= NR;
  V vbias[NV];
  if (bias)
    for (int v = 0; v < NV; ++v) vbias[v] = S::maskz_loadu(masks[v], bias + v * S::L);
  const V* pb = bias ? vbias : nullptr;
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    store_row<S, NV>(c + i * ldc, acc[i], va, vb, read_c, pb, relu, masks, full);
  }
}

// Direct (unpacked) variant for small problems: op(A)[i, p] = a[i*rsa + p*csa] and
// op(B)[p, j] = b[p*ldb + j] are read in place; columns past nr are masked off in the loads.
template <class S, int MR, int NV>
LAMINA_ALWAYS_INLINE void kernel_direct(
    std::int64_t kc, const typename S::T* a, std::int64_t rsa, std::int64_t csa,
    const typename S::T* b, std::int64_t ldb, typename S::T* c, std::int64_t ldc,
    std::int64_t mr, std::int64_t nr, typename S::T alpha, typename S::T beta,
    const typename S::T* bias, int act) {
  using V = typename S::V;
  constexpr int NR = NV * S::L;
  V acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
  typename S::M masks[NV];
  for (int v = 0; v < NV; ++v) {
    const std::int64_t left = nr - v * S::L;
    masks[v] = S::mask(left < 0 ? 0 : left);
  }
  // Rows past mr repeat the last valid row (they are computed but never stored).
  std::int64_t off[MR];
  for (int i = 0; i < MR; ++i) off[i] = (i < mr ? i : mr - 1) * rsa;
  for (std::int64_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = S::maskz_loadu(masks[v], b + v * S::L);
#pragma GCC unroll 32
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
  const bool full = nr >= NR;
  V vbias[NV];
  if (bias)
    for (int v = 0; v < NV; ++v) vbias[v] = S::maskz_loadu(masks[v], bias + v * S::L);
  const V* pb = bias ? vbias : nullptr;
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    store_row<S, NV>(c + i * ldc, acc[i], va, vb, read_c, pb, relu, masks, full);
  }
}

}  // namespace

void gemm_avx512_f32_direct_8x32(std::int64_t kc, const float* a, std::int64_t rsa,
                                 std::int64_t csa, const float* b, std::int64_t ldb, float* c,
                                 std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                                 float beta, const float* bias, int act) {
  kernel_direct<F32, 8, 2>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx512_f32_direct_12x16(std::int64_t kc, const float* a, std::int64_t rsa,
                                  std::int64_t csa, const float* b, std::int64_t ldb, float* c,
                                  std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                                  float beta, const float* bias, int act) {
  kernel_direct<F32, 12, 1>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx512_f64_direct_8x16(std::int64_t kc, const double* a, std::int64_t rsa,
                                 std::int64_t csa, const double* b, std::int64_t ldb, double* c,
                                 std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                                 double beta, const double* bias, int act) {
  kernel_direct<F64, 8, 2>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx512_f64_direct_12x8(std::int64_t kc, const double* a, std::int64_t rsa,
                                 std::int64_t csa, const double* b, std::int64_t ldb, double* c,
                                 std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                                 double beta, const double* bias, int act) {
  kernel_direct<F64, 12, 1>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, beta, bias, act);
}

void gemm_avx512_f32_12x32(std::int64_t kc, const float* a, const float* b, float* c,
                           std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                           float beta, const float* bias, int act) {
  kernel<F32, 12, 2, false>(kc, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx512_f32_12x32_packb(std::int64_t kc, const float* a, const float* b,
                                 std::int64_t ldb, float* bdst, float* c, std::int64_t ldc,
                                 std::int64_t mr, std::int64_t nr, float alpha, float beta,
                                 const float* bias, int act) {
  kernel<F32, 12, 2, true>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
}

void gemm_avx512_f64_12x16(std::int64_t kc, const double* a, const double* b, double* c,
                           std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha,
                           double beta, const double* bias, int act) {
  kernel<F64, 12, 2, false>(kc, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
}
void gemm_avx512_f64_12x16_packb(std::int64_t kc, const double* a, const double* b,
                                 std::int64_t ldb, double* bdst, double* c, std::int64_t ldc,
                                 std::int64_t mr, std::int64_t nr, double alpha, double beta,
                                 const double* bias, int act) {
  kernel<F64, 12, 2, true>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
}

float fma_loop_avx512_f32(std::int64_t iters) {
  constexpr int W = 24;
  __m512 acc[W];
  for (int i = 0; i < W; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 x = _mm512_set1_ps(0.99999f), y = _mm512_set1_ps(1e-6f);
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < W; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < W; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float t[16];
  _mm512_store_ps(t, s);
  float r = 0.0f;
  for (int i = 0; i < 16; ++i) r += t[i];
  return r;
}

}  // namespace gemm_detail
}  // namespace lamina
