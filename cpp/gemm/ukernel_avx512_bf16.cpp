// AVX512_BF16 GEMM micro-kernel and packers (ISA island: compiled with -mavx512bf16 beside the
// AVX-512 flags, called only through gemm_bf16.cpp when lamina::active_isa() is avx512_bf16).
//
// Contract (ukernels_bf16.hpp): panels of bf16 K pairs, one 32-bit word per (row or column,
// pair), low half the even K index. One 12 x 32 tile of row-major C over kp (even) K steps:
//   C[0:mr, 0:nr] := alpha * (a . b) + beta * C  (beta == 0: C not read), then + bias, relu.
// Vectors run along N (16 fp32 lanes = 16 columns, a zmm of B holds 16 columns x 1 pair); the
// A word of a row is broadcast; vdpbf16ps adds both products of the pair into the lane, the
// odd one first, each with one RNE rounding, subnormals flushed (Intel SDM; the same measured
// on Zen 4). 24 zmm accumulators, 2 B vectors, one vpbroadcastd per row and pair. A last row
// panel of at most 8 / 4 rows runs an 8 / 4-row instance (same layout, same per-row sums).
// Measured on Zen 4: 229 GFLOP/s with the panels in L1/L2, 98% of vdpbf16ps's 233 (one zmm
// instruction per cycle, as the float32 FMA: twice its 118); per call at K = 128 (the dW
// gemms), 224. The narrow kernel (outputs of at most 16 columns) is the same loop on a
// 16 x 16 tile: 16 accumulators, 1 B vector, 16-row A panels.
// Packers convert float32 to bf16 with vcvtne2ps2bf16 (RNE, subnormals to zero, NaN quieted:
// round_to_bf16 exactly) and interleave pairs with vpermw.
// Nothing from shared headers is instantiated here (no <algorithm>, no std:: templates).
#include <immintrin.h>

#include <cstdint>

#include "ukernels_bf16.hpp"

namespace lamina {
namespace gemm_detail {
namespace {

constexpr int MR = kBf16Mr;  // 12
constexpr int NV = kBf16Nr / 16;  // 2 zmm of columns
constexpr int MRN = kBf16NarrowMr;  // 16: the narrow kernel, one zmm of columns

inline __mmask16 mask16(std::int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1u);
}

// 16 words (r0[i] low, r1[i] high), i < 16, from two float32 vectors.
inline __m512i interleave_bf16(__m512 r0, __m512 r1) {
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                       8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i both = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(r1, r0));  // [r0 | r1]
  return _mm512_permutexvar_epi16(idx, both);
}

// Words of pairs (x[2q], x[2q+1]) for q < 16 from 32 consecutive values x[0:n] (n <= 32; the
// rest zero): vcvtne2ps2bf16 already writes them in that order.
inline __m512i pairs_of_run(const float* x, std::int64_t n) {
  const __m512 lo = _mm512_maskz_loadu_ps(mask16(n), x);
  const __m512 hi = _mm512_maskz_loadu_ps(mask16(n - 16), x + 16);
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// In-register transpose of a 16 x 16 matrix of 32-bit words: r[i] holds row i; afterwards
// r[j] holds column j. Three rounds: 32-bit and 64-bit unpacks inside 128-bit lanes, then two
// rounds of lane shuffles. (maskz forms: GCC 12's plain ones warn about an undefined source.)
inline __m512i unpacklo32(__m512i a, __m512i b) {
  return _mm512_maskz_unpacklo_epi32(0xFFFF, a, b);
}
inline __m512i unpackhi32(__m512i a, __m512i b) {
  return _mm512_maskz_unpackhi_epi32(0xFFFF, a, b);
}
inline __m512i unpacklo64(__m512i a, __m512i b) { return _mm512_maskz_unpacklo_epi64(0xFF, a, b); }
inline __m512i unpackhi64(__m512i a, __m512i b) { return _mm512_maskz_unpackhi_epi64(0xFF, a, b); }
#define LAMINA_SHUF128(a, b, imm) _mm512_maskz_shuffle_i32x4(0xFFFF, a, b, imm)
inline void transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = unpacklo32(r[i], r[i + 1]);
    t[i + 1] = unpackhi32(r[i], r[i + 1]);
  }
  // u[4b + g]: rows 4b..4b+3 of columns g, g+4, g+8, g+12 (one per lane).
  for (int b = 0; b < 16; b += 4) {
    u[b + 0] = unpacklo64(t[b], t[b + 2]);
    u[b + 1] = unpackhi64(t[b], t[b + 2]);
    u[b + 2] = unpacklo64(t[b + 1], t[b + 3]);
    u[b + 3] = unpackhi64(t[b + 1], t[b + 3]);
  }
  for (int g = 0; g < 4; ++g) {
    const __m512i v0 = LAMINA_SHUF128(u[g], u[4 + g], 0x88);
    const __m512i v1 = LAMINA_SHUF128(u[g], u[4 + g], 0xdd);
    const __m512i v2 = LAMINA_SHUF128(u[8 + g], u[12 + g], 0x88);
    const __m512i v3 = LAMINA_SHUF128(u[8 + g], u[12 + g], 0xdd);
    r[g] = LAMINA_SHUF128(v0, v2, 0x88);
    r[g + 8] = LAMINA_SHUF128(v0, v2, 0xdd);
    r[g + 4] = LAMINA_SHUF128(v1, v3, 0x88);
    r[g + 12] = LAMINA_SHUF128(v1, v3, 0xdd);
  }
}
#undef LAMINA_SHUF128

// Stores one finished row of accumulators: r = alpha*acc (+ beta*C) (+ bias) (relu), as the
// float32 AVX-512 kernel does.
template <int V>
inline __attribute__((always_inline)) void store_row(float* c, const __m512* acc, __m512 va,
                                                      __m512 vb, bool read_c,
                                                      const __m512* vbias, bool relu,
                                                      const __mmask16* masks) {
  for (int v = 0; v < V; ++v) {
    if (!masks[v]) continue;
    __m512 r = _mm512_mul_ps(acc[v], va);
    if (read_c) r = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(masks[v], c + 16 * v), vb, r);
    if (vbias) r = _mm512_add_ps(r, vbias[v]);
    if (relu) r = _mm512_maskz_max_ps(0xFFFF, _mm512_setzero_ps(), r);  // NaN stays NaN
    _mm512_mask_storeu_ps(c + 16 * v, masks[v], r);
  }
}

}  // namespace

namespace {

// Pairs of op(B) rows the packing kernel prefetches ahead (32 rows, as the float32 kernel: at
// ~24 cycles a pair that covers an L3 hit and most of a DRAM miss).
constexpr int kPackAheadPairs = 16;

// R rows x V zmm (16 V columns) of C; A panels of `ar` rows (R <= ar: a last, shorter panel
// runs a smaller R on the same layout). PACK (V = 2 only): the B micro-panel (a full 32
// columns) is read from op(B) in place (row p at b + p*ldb, float32) and converted and written
// to bdst in the packed layout as it goes; kc is the real K (the pad row of an odd kc is
// zero). Otherwise b is the packed panel and kc == kp.
template <bool PACK, int R, int V = NV, int AR = MR>
inline __attribute__((always_inline)) void kernel(std::int64_t kc, const std::uint16_t* a,
                                                   const void* bsrc, std::int64_t ldb,
                                                   std::uint16_t* bdst, float* c,
                                                   std::int64_t ldc, std::int64_t mr,
                                                   std::int64_t nr, float alpha, float beta,
                                                   const float* bias, int act) {
  {
    const char* pc = reinterpret_cast<const char*>(c);
#pragma GCC unroll 1
    for (int i = 0; i < R; ++i, pc += ldc * static_cast<std::int64_t>(sizeof(float))) {
      _mm_prefetch(pc, _MM_HINT_T0);
      if (V > 1) _mm_prefetch(pc + 64, _MM_HINT_T0);
    }
  }
  __m512 acc[R][V];
#pragma GCC unroll 32
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();

  const std::int32_t* aw = reinterpret_cast<const std::int32_t*>(a);
  const std::uint16_t* bp = static_cast<const std::uint16_t*>(bsrc);
  const float* bf = static_cast<const float*>(bsrc);
  const std::int64_t nq = (kc + 1) / 2;
  for (std::int64_t q = 0; q < nq; ++q) {
    __m512bh b0, b1;
    if (PACK) {
      static_assert(!PACK || V == 2, "packing kernel: 32 columns");
      const float* r0 = bf + 2 * q * ldb;
      const std::int64_t ahead = q + kPackAheadPairs < nq ? 2 * kPackAheadPairs * ldb
                                                          : kBf16Nr - 2 * q * ldb;
      _mm_prefetch(reinterpret_cast<const char*>(r0 + ahead), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(r0 + ahead + 31), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(r0 + ahead + ldb), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(r0 + ahead + ldb + 31), _MM_HINT_T0);
      const bool odd = 2 * q + 1 < kc;
      const __m512 z = _mm512_setzero_ps();
      const __m512i w0 = interleave_bf16(_mm512_loadu_ps(r0), odd ? _mm512_loadu_ps(r0 + ldb) : z);
      const __m512i w1 =
          interleave_bf16(_mm512_loadu_ps(r0 + 16), odd ? _mm512_loadu_ps(r0 + ldb + 16) : z);
      _mm512_store_si512(bdst, w0);
      _mm512_store_si512(bdst + 32, w1);
      bdst += 2 * kBf16Nr;
      b0 = reinterpret_cast<__m512bh>(w0);
      b1 = reinterpret_cast<__m512bh>(w1);
    } else {
      b0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(bp));
      b1 = V > 1 ? reinterpret_cast<__m512bh>(_mm512_loadu_si512(bp + 32)) : b0;
      bp += 2 * 16 * V;
    }
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512bh ai = reinterpret_cast<__m512bh>(_mm512_set1_epi32(aw[i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      if (V > 1) acc[i][V - 1] = _mm512_dpbf16_ps(acc[i][V - 1], ai, b1);
    }
    aw += AR;
  }

  __mmask16 masks[V];
  for (int v = 0; v < V; ++v) masks[v] = mask16(nr - 16 * v);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  __m512 vbias[V];
  if (bias)
    for (int v = 0; v < V; ++v) vbias[v] = _mm512_maskz_loadu_ps(masks[v], bias + 16 * v);
  const bool read_c = beta != 0.0f, relu = act == 1;
  // Unrolled, so acc[i] stays a register: a rolled loop indexes acc at run time, and GCC
  // then keeps all 24 accumulators on the stack around the K loop (a zeroing, a spill and a
  // reload of 24 zmm per call: ~130 cycles, 8% of a K = 128 tile, the dW gemms' K).
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    if (i >= mr) break;
    store_row<V>(c + i * ldc, acc[i], va, vb, read_c, bias ? vbias : nullptr, relu, masks);
  }
}

}  // namespace

void gemm_avx512bf16_12x32(std::int64_t kp, const std::uint16_t* a, const std::uint16_t* b,
                           float* c, std::int64_t ldc, std::int64_t mr, std::int64_t nr,
                           float alpha, float beta, const float* bias, int act) {
  if (mr > 8)
    kernel<false, MR>(kp, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
  else if (mr > 4)
    kernel<false, 8>(kp, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
  else
    kernel<false, 4>(kp, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
}

void gemm_avx512bf16_12x32_packb(std::int64_t kc, const std::uint16_t* a, const float* b,
                                 std::int64_t ldb, std::uint16_t* bdst, float* c,
                                 std::int64_t ldc, std::int64_t mr, std::int64_t nr, float alpha,
                                 float beta, const float* bias, int act) {
  if (mr > 8)
    kernel<true, MR>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
  else if (mr > 4)
    kernel<true, 8>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
  else
    kernel<true, 4>(kc, a, b, ldb, bdst, c, ldc, mr, nr, alpha, beta, bias, act);
}

void gemm_avx512bf16_16x16(std::int64_t kp, const std::uint16_t* a, const std::uint16_t* b,
                           float* c, std::int64_t ldc, std::int64_t mr, std::int64_t nr,
                           float alpha, float beta, const float* bias, int act) {
  if (mr > 8)
    kernel<false, MRN, 1, MRN>(kp, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
  else if (mr > 4)
    kernel<false, 8, 1, MRN>(kp, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
  else
    kernel<false, 4, 1, MRN>(kp, a, b, 0, nullptr, c, ldc, mr, nr, alpha, beta, bias, act);
}

// op(A)[0:mc, 0:kc] -> panels of MR rows: word q*MR + i = (op(A)[i, 2q], op(A)[i, 2q+1]).
void pack_a_avx512bf16(bool trans, std::int64_t mc, std::int64_t kc, const float* a,
                       std::int64_t lda, int mr, std::uint16_t* dst) {
  const std::int64_t nq = (kc + 1) / 2;
  std::uint32_t* d = reinterpret_cast<std::uint32_t*>(dst);
  const __mmask16 mout = mask16(mr);
  if (trans) {
    // op(A)[i, p] = a[p*lda + i]: K steps 2q and 2q+1 are two contiguous runs of a's rows,
    // read front to back for all the panels at once (panel by panel, a power-of-two lda put
    // the rows one panel reads into a few L1 sets: (128x512)^T packed in 17 us, pair by pair
    // in 6; Zen 4).
    const std::int64_t panels = (mc + mr - 1) / mr;
    for (std::int64_t q = 0; q < nq; ++q) {
      const float* r0 = a + 2 * q * lda;
      const bool odd = 2 * q + 1 < kc;
      for (std::int64_t ip = 0; ip < panels; ++ip) {
        const std::int64_t i0 = ip * mr, rows = mc - i0 < mr ? mc - i0 : mr;
        const __mmask16 mrow = mask16(rows);
        const __m512 v0 = _mm512_maskz_loadu_ps(mrow, r0 + i0);
        const __m512 v1 = odd ? _mm512_maskz_loadu_ps(mrow, r0 + lda + i0) : _mm512_setzero_ps();
        _mm512_mask_storeu_epi32(d + (ip * nq + q) * mr, mout, interleave_bf16(v0, v1));
      }
    }
    return;
  }
  for (std::int64_t i0 = 0; i0 < mc; i0 += mr) {
    const std::int64_t rows = mc - i0 < mr ? mc - i0 : mr;
    // op(A)[i, p] = a[i*lda + p]: rows run along K; 16 pairs of each row at a time,
    // transposed in registers (rows past `rows`, up to 16, are zero).
    const float* src = a + i0 * lda;
    for (std::int64_t q0 = 0; q0 < nq; q0 += 16) {
      const std::int64_t left = kc - 2 * q0;
      const std::int64_t nqb = nq - q0 < 16 ? nq - q0 : 16;
      __m512i r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < rows ? pairs_of_run(src + i * lda + 2 * q0, left) : _mm512_setzero_si512();
      transpose16(r);
      for (std::int64_t q = 0; q < nqb; ++q)
        _mm512_mask_storeu_epi32(d + (q0 + q) * mr, mout, r[q]);
    }
    d += nq * mr;
  }
}

// op(B)[0:kc, 0:nc] -> panels of nr columns: word q*nr + j = (op(B)[2q, j], op(B)[2q+1, j]).
void pack_b_avx512bf16(bool trans, std::int64_t kc, std::int64_t nc, const float* b,
                       std::int64_t ldb, int nr, std::uint16_t* dst) {
  const std::int64_t nq = (kc + 1) / 2;
  std::uint32_t* d = reinterpret_cast<std::uint32_t*>(dst);
  for (std::int64_t j0 = 0; j0 < nc; j0 += nr) {
    const std::int64_t cols = nc - j0 < nr ? nc - j0 : nr;
    if (!trans) {
      // op(B)[p, j] = b[p*ldb + j]: K steps 2q and 2q+1 are two contiguous runs of columns.
      const float* src = b + j0;
      for (std::int64_t q = 0; q < nq; ++q) {
        const float* r0 = src + 2 * q * ldb;
        const bool odd = 2 * q + 1 < kc;
        for (std::int64_t v = 0; v < nr; v += 16) {
          const __mmask16 m = mask16(cols - v);
          const __m512 v0 = _mm512_maskz_loadu_ps(m, r0 + v);
          const __m512 v1 = odd ? _mm512_maskz_loadu_ps(m, r0 + ldb + v) : _mm512_setzero_ps();
          _mm512_storeu_si512(d + q * nr + v, interleave_bf16(v0, v1));
        }
      }
    } else {
      // op(B)[p, j] = b[j*ldb + p]: columns run along K; 16 pairs of each of 16 columns at a
      // time, transposed in registers.
      const float* src = b + j0 * ldb;
      for (std::int64_t q0 = 0; q0 < nq; q0 += 16) {
        const std::int64_t left = kc - 2 * q0;
        const std::int64_t nqb = nq - q0 < 16 ? nq - q0 : 16;
        for (std::int64_t jb = 0; jb < nr; jb += 16) {
          __m512i r[16];
          for (int j = 0; j < 16; ++j)
            r[j] = jb + j < cols ? pairs_of_run(src + (jb + j) * ldb + 2 * q0, left)
                                 : _mm512_setzero_si512();
          transpose16(r);
          for (std::int64_t q = 0; q < nqb; ++q) _mm512_storeu_si512(d + (q0 + q) * nr + jb, r[q]);
        }
      }
    }
    d += nq * nr;
  }
}

float dot_loop_avx512bf16(std::int64_t iters) {
  constexpr int W = 24;
  __m512 acc[W];
  for (int i = 0; i < W; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512bh x = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3f7f3f7f));  // 0.996 pairs
  const __m512bh y = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x358637bd));  // ~1e-6
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < W; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
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
