// AVX-512 packing for float32 (ISA island: compiled with -mavx512f..., selected through the
// table in kernel_table.cpp). Same contract and layouts as pack.cpp (see ukernels.hpp):
//   pack_a: op(A)[0:mc, 0:kc] -> panels of kc x mr (mr <= 16), rows past mc zero;
//   pack_b: op(B)[0:kc, 0:nc] -> panels of kc x nr (nr a multiple of 16), columns past nc zero.
// Contiguous cases copy with (masked) vector loads/stores; transposing cases load 16 rows x 16
// columns and transpose them in registers (unpack + lane shuffles), 16 K steps at a time.
#include <immintrin.h>

// GCC 12 reports its own _mm512_undefined_* placeholders inside the shuffle intrinsics.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

#include "lamina/compiler.hpp"
#include "ukernels.hpp"

namespace lamina {
namespace gemm_detail {
namespace {

inline __mmask16 mask16(std::int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1u);
}

// In-register transpose: r[i] holds row i (16 columns); afterwards r[c] holds column c.
LAMINA_ALWAYS_INLINE void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // r[4i+q], 128-bit lane L: rows 4i..4i+3 of column 4L+q.
  __m512 o[16];
  for (int q = 0; q < 4; ++q) {
    const __m512 u0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x44);
    const __m512 u1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xEE);
    const __m512 v0 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x44);
    const __m512 v1 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xEE);
    o[q] = _mm512_shuffle_f32x4(u0, v0, 0x88);
    o[4 + q] = _mm512_shuffle_f32x4(u0, v0, 0xDD);
    o[8 + q] = _mm512_shuffle_f32x4(u1, v1, 0x88);
    o[12 + q] = _mm512_shuffle_f32x4(u1, v1, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = o[i];
}

// Transposes `rows` (<= 16) source rows of `kc` contiguous values (row stride ld) into
// dst[p*dst_ld + i] for i < width (rows..width-1 are zero), p < kc.
inline void transpose_rows(const float* src, std::int64_t ld, std::int64_t rows, std::int64_t kc,
                           float* dst, std::int64_t dst_ld, std::int64_t width) {
  const __mmask16 out_mask = mask16(width);
  for (std::int64_t p0 = 0; p0 < kc; p0 += 16) {
    const std::int64_t cols = kc - p0 < 16 ? kc - p0 : 16;
    const __mmask16 in_mask = mask16(cols);
    __m512 r[16];
    for (int i = 0; i < 16; ++i)
      r[i] = i < rows ? _mm512_maskz_loadu_ps(in_mask, src + i * ld + p0) : _mm512_setzero_ps();
    transpose16(r);
    float* d = dst + p0 * dst_ld;
    if (width < 16 && dst_ld == width && cols == 16) {
      // Dense panel (dst_ld == width): full-width stores in increasing order, each one's
      // lanes past `width` (zeros) are overwritten by the next; only the last is masked.
      for (int c = 0; c < 15; ++c) _mm512_storeu_ps(d + c * dst_ld, r[c]);
      _mm512_mask_storeu_ps(d + 15 * dst_ld, out_mask, r[15]);
    } else if (width == 16) {
      for (int c = 0; c < 16; ++c)
        if (c < cols) _mm512_storeu_ps(d + c * dst_ld, r[c]);
    } else {
      for (int c = 0; c < 16; ++c)
        if (c < cols) _mm512_mask_storeu_ps(d + c * dst_ld, out_mask, r[c]);
    }
  }
}

}  // namespace

void pack_a_avx512_f32(bool trans, std::int64_t mc, std::int64_t kc, const float* a,
                       std::int64_t lda, int mr, float* dst) {
  for (std::int64_t i0 = 0; i0 < mc; i0 += mr) {
    const std::int64_t rows = mc - i0 < mr ? mc - i0 : mr;
    if (trans) {
      // op(A)[i, p] = a[p*lda + i]: each K step is a contiguous run of `rows` values.
      const __mmask16 in = mask16(rows), out = mask16(mr);
      const float* src = a + i0;
      for (std::int64_t p = 0; p < kc; ++p)
        _mm512_mask_storeu_ps(dst + p * mr, out, _mm512_maskz_loadu_ps(in, src + p * lda));
    } else {
      transpose_rows(a + i0 * lda, lda, rows, kc, dst, mr, mr);
    }
    dst += static_cast<std::int64_t>(mr) * kc;
  }
}

void pack_b_avx512_f32(bool trans, std::int64_t kc, std::int64_t nc, const float* b,
                       std::int64_t ldb, int nr, float* dst) {
  for (std::int64_t j0 = 0; j0 < nc; j0 += nr) {
    const std::int64_t cols = nc - j0 < nr ? nc - j0 : nr;
    if (!trans) {
      const float* src = b + j0;
      if (cols == nr && nr == 32) {
        for (std::int64_t p = 0; p < kc; ++p) {
          const float* s = src + p * ldb;
          _mm512_storeu_ps(dst + p * 32, _mm512_loadu_ps(s));
          _mm512_storeu_ps(dst + p * 32 + 16, _mm512_loadu_ps(s + 16));
        }
      } else {
        for (std::int64_t p = 0; p < kc; ++p)
          for (std::int64_t v = 0; v < nr; v += 16)
            _mm512_storeu_ps(dst + p * nr + v,
                             _mm512_maskz_loadu_ps(mask16(cols - v), src + p * ldb + v));
      }
    } else {
      // op(B)[p, j] = b[j*ldb + p]: 16 columns of op(B) (rows of B) at a time.
      for (std::int64_t v = 0; v < nr; v += 16) {
        const std::int64_t rows = cols - v;
        transpose_rows(b + (j0 + v) * ldb, ldb, rows < 0 ? 0 : rows, kc, dst + v, nr, 16);
      }
    }
    dst += static_cast<std::int64_t>(nr) * kc;
  }
}

}  // namespace gemm_detail
}  // namespace lamina
