// Generic (baseline x86-64 / any CPU) GEMM micro-kernels in plain C++.
//
// Contract (see ukernels.hpp): one MR x NR tile of row-major C from packed panels,
//   a: kc steps of MR values, b: kc steps of NR values;
//   C[0:mr, 0:nr] := alpha * (a . b) + beta * C  (beta == 0: C not read), then + bias, relu.
// The accumulator block is a local array the compiler keeps in (SSE2) registers.
#include <cstdint>

#include "ukernels.hpp"

namespace lamina {
namespace gemm_detail {
namespace {

template <class T, int MR, int NR>
void kernel(std::int64_t kc, const T* a, const T* b, T* c, std::int64_t ldc, std::int64_t mr,
            std::int64_t nr, T alpha, T beta, const T* bias, int act) {
  T acc[MR][NR] = {};
  for (std::int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) {
      const T ai = a[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  for (std::int64_t i = 0; i < mr && i < MR; ++i) {
    T* cr = c + i * ldc;
    for (std::int64_t j = 0; j < nr && j < NR; ++j) {
      T r = alpha * acc[i][j];
      if (beta != T(0)) r += beta * cr[j];
      if (bias) r += bias[j];
      if (act == 1) r = r < T(0) ? T(0) : r;  // relu; NaN stays NaN
      cr[j] = r;
    }
  }
}

}  // namespace

void gemm_ref_f32_4x8(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                      std::int64_t mr, std::int64_t nr, float alpha, float beta, const float* bias,
                      int act) {
  kernel<float, 4, 8>(kc, a, b, c, ldc, mr, nr, alpha, beta, bias, act);
}

void gemm_ref_f64_4x4(std::int64_t kc, const double* a, const double* b, double* c,
                      std::int64_t ldc, std::int64_t mr, std::int64_t nr, double alpha, double beta,
                      const double* bias, int act) {
  kernel<double, 4, 4>(kc, a, b, c, ldc, mr, nr, alpha, beta, bias, act);
}

}  // namespace gemm_detail
}  // namespace lamina
