// Naive GEMM: the test oracle. Same contract as gemm (cpp/include/lamina/gemm.hpp): a triple
// loop accumulating in T with k innermost and in order, then beta*C, bias, relu, post.
#include <cstdint>

#include "lamina/gemm.hpp"

namespace lamina {

template <class T>
void gemm_ref(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
              const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
              std::int64_t ldc, const GemmEpilogue<T>* epilogue) {
  if (m <= 0 || n <= 0) return;
  const T* bias = epilogue ? epilogue->bias : nullptr;
  const bool relu = epilogue && epilogue->act == kGemmActRelu;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      T s = T(0);
      for (std::int64_t p = 0; p < k; ++p) {
        const T x = trans_a ? a[p * lda + i] : a[i * lda + p];
        const T y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        s += x * y;
      }
      T* cij = c + i * ldc + j;
      T r = alpha * s;
      if (beta != T(0)) r += beta * *cij;
      if (bias) r += bias[j];
      if (relu) r = r < T(0) ? T(0) : r;  // NaN stays NaN
      *cij = r;
    }
  }
  if (epilogue && epilogue->post) epilogue->post(epilogue->post_ctx, 0, 0, m, n, c, ldc);
}

template void gemm_ref<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float,
                              const float*, std::int64_t, const float*, std::int64_t, float,
                              float*, std::int64_t, const GemmEpilogue<float>*);
template void gemm_ref<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double,
                               const double*, std::int64_t, const double*, std::int64_t, double,
                               double*, std::int64_t, const GemmEpilogue<double>*);

}  // namespace lamina
