// Packing op(A) and op(B) into the micro-panel layouts the micro-kernels read (ukernels.hpp).
//
// pack_a: op(A)[0:mc, 0:kc] -> ceil(mc/mr) panels, panel[p*mr + i] = op(A)[i, p], rows past
//         mc zero. !trans: op(A)[i, p] = a[i*lda + p];  trans: a[p*lda + i].
// pack_b: op(B)[0:kc, 0:nc] -> ceil(nc/nr) panels, panel[p*nr + j] = op(B)[p, j], columns past
//         nc zero. !trans: op(B)[p, j] = b[p*ldb + j];  trans: b[j*ldb + p].
// The contiguous cases (trans A, plain B) copy rows; the others transpose in small blocks so
// both the reads and the writes stay within a few cache lines.
#include <cstdint>
#include <cstring>

#include "ukernels.hpp"

namespace lamina {
namespace gemm_detail {

template <class T>
void pack_a_ref(bool trans, std::int64_t mc, std::int64_t kc, const T* a, std::int64_t lda, int mr,
                T* dst) {
  for (std::int64_t i0 = 0; i0 < mc; i0 += mr) {
    const std::int64_t rows = mc - i0 < mr ? mc - i0 : mr;
    if (trans) {
      // op(A)[i, p] = a[p*lda + i]: each k step is a contiguous run of rows.
      const T* src = a + i0;
      for (std::int64_t p = 0; p < kc; ++p) {
        T* d = dst + p * mr;
        const T* s = src + p * lda;
        std::int64_t i = 0;
        for (; i < rows; ++i) d[i] = s[i];
        for (; i < mr; ++i) d[i] = T(0);
      }
    } else {
      // op(A)[i, p] = a[i*lda + p]: transpose blocks of 8 k steps.
      const T* src = a + i0 * lda;
      std::int64_t p0 = 0;
      for (; p0 + 8 <= kc; p0 += 8) {
        T* d = dst + p0 * mr;
        for (std::int64_t i = 0; i < rows; ++i) {
          const T* s = src + i * lda + p0;
          for (int q = 0; q < 8; ++q) d[q * mr + i] = s[q];
        }
        for (std::int64_t i = rows; i < mr; ++i)
          for (int q = 0; q < 8; ++q) d[q * mr + i] = T(0);
      }
      for (; p0 < kc; ++p0) {
        T* d = dst + p0 * mr;
        std::int64_t i = 0;
        for (; i < rows; ++i) d[i] = src[i * lda + p0];
        for (; i < mr; ++i) d[i] = T(0);
      }
    }
    dst += mr * kc;
  }
}

template <class T>
void pack_b_ref(bool trans, std::int64_t kc, std::int64_t nc, const T* b, std::int64_t ldb, int nr,
                T* dst) {
  for (std::int64_t j0 = 0; j0 < nc; j0 += nr) {
    const std::int64_t cols = nc - j0 < nr ? nc - j0 : nr;
    if (!trans) {
      const T* src = b + j0;
      if (cols == nr) {
        for (std::int64_t p = 0; p < kc; ++p)
          std::memcpy(dst + p * nr, src + p * ldb, sizeof(T) * static_cast<std::size_t>(nr));
      } else {
        for (std::int64_t p = 0; p < kc; ++p) {
          T* d = dst + p * nr;
          const T* s = src + p * ldb;
          std::int64_t j = 0;
          for (; j < cols; ++j) d[j] = s[j];
          for (; j < nr; ++j) d[j] = T(0);
        }
      }
    } else {
      // op(B)[p, j] = b[j*ldb + p]: transpose blocks of 8 k steps.
      const T* src = b + j0 * ldb;
      std::int64_t p0 = 0;
      for (; p0 + 8 <= kc; p0 += 8) {
        T* d = dst + p0 * nr;
        for (std::int64_t j = 0; j < cols; ++j) {
          const T* s = src + j * ldb + p0;
          for (int q = 0; q < 8; ++q) d[q * nr + j] = s[q];
        }
        for (std::int64_t j = cols; j < nr; ++j)
          for (int q = 0; q < 8; ++q) d[q * nr + j] = T(0);
      }
      for (; p0 < kc; ++p0) {
        T* d = dst + p0 * nr;
        std::int64_t j = 0;
        for (; j < cols; ++j) d[j] = src[j * ldb + p0];
        for (; j < nr; ++j) d[j] = T(0);
      }
    }
    dst += nr * kc;
  }
}

template void pack_a_ref<float>(bool, std::int64_t, std::int64_t, const float*, std::int64_t, int,
                                float*);
template void pack_a_ref<double>(bool, std::int64_t, std::int64_t, const double*, std::int64_t,
                                 int, double*);
template void pack_b_ref<float>(bool, std::int64_t, std::int64_t, const float*, std::int64_t, int,
                                float*);
template void pack_b_ref<double>(bool, std::int64_t, std::int64_t, const double*, std::int64_t,
                                 int, double*);

}  // namespace gemm_detail
}  // namespace lamina
