// AVX2 packing for float32 (ISA island: compiled with -mavx2 -mfma, selected through the table
// in kernel_table.cpp). Same contract and layouts as pack.cpp (see ukernels.hpp):
//   pack_a: op(A)[0:mc, 0:kc] -> panels of kc x mr (mr <= 8), rows past mc zero;
//   pack_b: op(B)[0:kc, 0:nc] -> panels of kc x nr (nr a multiple of 8), columns past nc zero.
// Contiguous cases copy with (masked) vector loads/stores; transposing cases load 8 rows x 8
// columns and transpose them in registers, 8 K steps at a time.
// No masked stores on the hot paths: vmaskmovps to memory is microcoded on AMD cores (Zen 2-4:
// one store every ~6-12 cycles), and an A panel of mr = 6 rows took 6-9% of a 128-row
// (128x784)(784x512) or (784x128)^T(128x512) GEMM with one per K step (perf, Zen 4, held to
// AVX2). K steps of an A panel are written with full 8-lane stores in increasing address
// order, each one's 8 - mr extra lanes overwritten by the next steps'; the last steps of a
// panel are stored exactly (4 + 2 lanes for mr = 6), so nothing is written past the panel
// (panels are packed by different threads). op(B) is copied row by row across all the
// panels of the block, so the source is read sequentially rather than NR floats from each of
// kc rows in turn (ldb apart: 4 KiB for 1024^3, one page per row).
#include <immintrin.h>

#include <cstdint>

#include "lamina/compiler.hpp"
#include "ukernels.hpp"

namespace lamina {
namespace gemm_detail {
namespace {

// Rows of op(B) the plain pack_b prefetches ahead. Each row of a block is a short run (NC
// floats: 448 B) on its own page when ldb is 1024 floats, which the hardware prefetchers do
// not follow across pages; from DRAM that left about 7 lines in flight. Packing a 1024 x 1024
// op(B) evicted to DRAM: 480 -> 410 us, 784 x 512: 280 -> 205 us (2 to 16 rows ahead: 8 and
// 16 no better); from L3 no slower (Zen 4, AVX2 build).
constexpr std::int64_t kRowsAhead = 4;

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

// Stores the first `width` (< 8) lanes of v at d: 4 + 2 lanes for width 6 (the AVX2 panel),
// else through the mask.
LAMINA_ALWAYS_INLINE void store_exact(float* d, __m256 v, std::int64_t width, __m256i mask) {
  if (width == 6) {
    _mm_storeu_ps(d, _mm256_castps256_ps128(v));
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), _mm256_extractf128_ps(v, 1));
  } else {
    _mm256_maskstore_ps(d, mask, v);
  }
}

// Transposes `rows` (<= 8) source rows of `kc` contiguous values (row stride ld) into
// dst[p*dst_ld + i] for i < width (rows..width-1 are zero), p < kc. width == 8, or width < 8
// and dst_ld == width (an A panel: consecutive K steps adjoin).
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
    if (width == 8) {
      for (int c = 0; c < cols; ++c) _mm256_storeu_ps(d + c * dst_ld, r[c]);
    } else {
      // dst_ld == width: each store's lanes past `width` fall on the next `reach` K steps,
      // rewritten by their own stores; the steps whose 8 lanes would pass the panel's end are
      // stored exactly.
      const std::int64_t reach = (8 + width - 1) / width - 1;
      std::int64_t full = kc - reach - p0;  // columns c < full: p0 + c + reach < kc
      if (full > cols) full = cols;
      if (full < 0) full = 0;
      if (full == 8) {
        for (int c = 0; c < 8; ++c) _mm256_storeu_ps(d + c * dst_ld, r[c]);
      } else {
        for (int c = 0; c < full; ++c) _mm256_storeu_ps(d + c * dst_ld, r[c]);
        for (std::int64_t c = full; c < cols; ++c)
          store_exact(d + c * dst_ld, r[c], width, out_mask);
      }
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
      const float* src = a + i0;
      if (rows == 6 && mr == 6) {
        // 4 + 2 lanes in, 4 + 2 out: no lane past the panel's rows is read or written.
        for (std::int64_t p = 0; p < kc; ++p) {
          const float* s = src + p * lda;
          float* d = dst + p * 6;
          _mm_storeu_ps(d, _mm_loadu_ps(s));
          // 8 bytes through the unaligned 64-bit integer forms (_mm_load_sd on a float
          // address is a misaligned double load: undefined, UBSan stops on it).
          _mm_storel_epi64(reinterpret_cast<__m128i*>(d + 4),
                           _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + 4)));
        }
      } else {
        const __m256i in = mask8(rows), out = mask8(mr);
        const std::int64_t reach = (8 + mr - 1) / mr - 1;  // as in transpose_rows
        for (std::int64_t p = 0; p < kc; ++p) {
          const __m256 v = _mm256_maskload_ps(src + p * lda, in);
          if (p + reach < kc) _mm256_storeu_ps(dst + p * mr, v);  // see the header
          else store_exact(dst + p * mr, v, mr, out);
        }
      }
    } else {
      transpose_rows(a + i0 * lda, lda, rows, kc, dst, mr, mr);
    }
    dst += static_cast<std::int64_t>(mr) * kc;
  }
}

void pack_b_avx2_f32(bool trans, std::int64_t kc, std::int64_t nc, const float* b,
                     std::int64_t ldb, int nr, float* dst) {
  if (!trans) {
    // Row p of op(B) is contiguous: copy it into every panel's step p (see the header).
    const std::int64_t full = nc / nr, tail = nc - full * nr;
    const std::int64_t panel = static_cast<std::int64_t>(nr) * kc;
    for (std::int64_t p = 0; p < kc; ++p) {
      const float* s = b + p * ldb;
      float* d = dst + p * nr;
      if (p + kRowsAhead < kc) {
        const char* ahead = reinterpret_cast<const char*>(s + kRowsAhead * ldb);
        const std::int64_t bytes = nc * static_cast<std::int64_t>(sizeof(float));
        for (std::int64_t off = 0; off < bytes; off += 64) _mm_prefetch(ahead + off, _MM_HINT_T0);
        _mm_prefetch(ahead + bytes - 1, _MM_HINT_T0);
      }
      for (std::int64_t jp = 0; jp < full; ++jp)
        for (std::int64_t v = 0; v < nr; v += 8)
          _mm256_storeu_ps(d + jp * panel + v, _mm256_loadu_ps(s + jp * nr + v));
      if (tail > 0)
        for (std::int64_t v = 0; v < nr; v += 8)
          _mm256_storeu_ps(d + full * panel + v,
                           _mm256_maskload_ps(s + full * nr + v, mask8(tail - v)));
    }
    return;
  }
  for (std::int64_t j0 = 0; j0 < nc; j0 += nr) {
    const std::int64_t cols = nc - j0 < nr ? nc - j0 : nr;
    if (cols == 16 && nr == 16) {
      // A full 16-column panel: both 8-row halves per K block, so each K step's 64 bytes are
      // written together (one line) instead of in two passes over the panel, 32 bytes each.
      // dX's op(B) = W^T, 784 x 512 W: 147 -> 85 us per pack (Zen 4).
      const float* src = b + j0 * ldb;
      std::int64_t p0 = 0;
      for (; p0 + 8 <= kc; p0 += 8) {
        __m256 r[8], u[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ldb + p0);
        for (int i = 0; i < 8; ++i) u[i] = _mm256_loadu_ps(src + (8 + i) * ldb + p0);
        transpose8(r);
        transpose8(u);
        float* d = dst + p0 * 16;
        for (int c = 0; c < 8; ++c) {
          _mm256_storeu_ps(d + c * 16, r[c]);
          _mm256_storeu_ps(d + c * 16 + 8, u[c]);
        }
      }
      if (p0 < kc)
        for (std::int64_t v = 0; v < 16; v += 8)
          transpose_rows(src + v * ldb + p0, ldb, 8, kc - p0, dst + p0 * 16 + v, 16, 8);
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
