// AVX2 packing for float32 (ISA island: compiled with -mavx2 -mfma, selected through the table
// in kernel_table.cpp). Same contract and layouts as pack.cpp (see ukernels.hpp):
//   pack_a: op(A)[0:mc, 0:kc] -> panels of kc x mr (mr <= 8), rows past mc zero;
//   pack_b: op(B)[0:kc, 0:nc] -> panels of kc x nr (nr a multiple of 8), columns past nc zero.
// Contiguous cases copy with (masked) vector loads/stores; transposing cases load 8 rows x 8
// columns and transpose them in registers, 8 K steps at a time.
#include <immintrin.h>

#include <cstdint>

#include "lamina/compiler.hpp"
#include "ukernels.hpp"

namespace lamina {
namespace gemm_detail {
namespace {

inline __m256i mask8(std::int64_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n < 0 ? 0 : n > 8 ? 8 : n)), idx);
}

// In-register transpose: r[i] holds row i (8 columns); afterwards r[c] holds column c.
LAMINA_ALWAYS_INLINE void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // rows 0-3, rows 4-7
    const __m256* u = t + 4 * h;
    s[4 * h + 0] = _mm256_shuffle_ps(u[0], u[2], 0x44);
    s[4 * h + 1] = _mm256_shuffle_ps(u[0], u[2], 0xEE);
    s[4 * h + 2] = _mm256_shuffle_ps(u[1], u[3], 0x44);
    s[4 * h + 3] = _mm256_shuffle_ps(u[1], u[3], 0xEE);
  }
  for (int q = 0; q < 4; ++q) {
    r[q] = _mm256_permute2f128_ps(s[q], s[4 + q], 0x20);
    r[4 + q] = _mm256_permute2f128_ps(s[q], s[4 + q], 0x31);
  }
}

// Transposes `rows` (<= 8) source rows of `kc` contiguous values (row stride ld) into
// dst[p*dst_ld + i] for i < width (rows..width-1 are zero), p < kc.
inline void transpose_rows(const float* src, std::int64_t ld, std::int64_t rows, std::int64_t kc,
                           float* dst, std::int64_t dst_ld, std::int64_t width) {
  const __m256i out_mask = mask8(width);
  for (std::int64_t p0 = 0; p0 < kc; p0 += 8) {
    const std::int64_t cols = kc - p0 < 8 ? kc - p0 : 8;
    const __m256i in_mask = mask8(cols);
    __m256 r[8];
    for (int i = 0; i < 8; ++i)
      r[i] = i < rows ? (cols == 8 ? _mm256_loadu_ps(src + i * ld + p0)
                                   : _mm256_maskload_ps(src + i * ld + p0, in_mask))
                      : _mm256_setzero_ps();
    transpose8(r);
    float* d = dst + p0 * dst_ld;
    for (int c = 0; c < 8; ++c) {
      if (c >= cols) break;
      if (width == 8) _mm256_storeu_ps(d + c * dst_ld, r[c]);
      else _mm256_maskstore_ps(d + c * dst_ld, out_mask, r[c]);
    }
  }
}

}  // namespace

void pack_a_avx2_f32(bool trans, std::int64_t mc, std::int64_t kc, const float* a,
                     std::int64_t lda, int mr, float* dst) {
  for (std::int64_t i0 = 0; i0 < mc; i0 += mr) {
    const std::int64_t rows = mc - i0 < mr ? mc - i0 : mr;
    if (trans) {
      // op(A)[i, p] = a[p*lda + i]: each K step is a contiguous run of `rows` values.
      const __m256i in = mask8(rows), out = mask8(mr);
      const float* src = a + i0;
      for (std::int64_t p = 0; p < kc; ++p)
        _mm256_maskstore_ps(dst + p * mr, out, _mm256_maskload_ps(src + p * lda, in));
    } else {
      transpose_rows(a + i0 * lda, lda, rows, kc, dst, mr, mr);
    }
    dst += static_cast<std::int64_t>(mr) * kc;
  }
}

void pack_b_avx2_f32(bool trans, std::int64_t kc, std::int64_t nc, const float* b,
                     std::int64_t ldb, int nr, float* dst) {
  for (std::int64_t j0 = 0; j0 < nc; j0 += nr) {
    const std::int64_t cols = nc - j0 < nr ? nc - j0 : nr;
    if (!trans) {
      const float* src = b + j0;
      if (cols == nr) {
        for (std::int64_t p = 0; p < kc; ++p)
          for (std::int64_t v = 0; v < nr; v += 8)
            _mm256_storeu_ps(dst + p * nr + v, _mm256_loadu_ps(src + p * ldb + v));
      } else {
        for (std::int64_t p = 0; p < kc; ++p)
          for (std::int64_t v = 0; v < nr; v += 8)
            _mm256_storeu_ps(dst + p * nr + v,
                             _mm256_maskload_ps(src + p * ldb + v, mask8(cols - v)));
      }
    } else {
      // op(B)[p, j] = b[j*ldb + p]: 8 columns of op(B) (rows of B) at a time.
      for (std::int64_t v = 0; v < nr; v += 8) {
        const std::int64_t rows = cols - v;
        transpose_rows(b + (j0 + v) * ldb, ldb, rows < 0 ? 0 : rows, kc, dst + v, nr, 8);
      }
    }
    dst += static_cast<std::int64_t>(nr) * kc;
  }
}

}  // namespace gemm_detail
}  // namespace lamina
