// AVX2 island of the activations: the kernels of activations_simd.hpp (island-private,
// internal linkage) on 256-bit vectors, 8 floats / 4 doubles.
//
// Shapes: one contiguous row of n elements (x, y, dy, dx); the caller walks rows and threads.
// AVX2 has no k-masks and no vscalefp*: masks are all-ones lanes (blendv, maskload/maskstore
// for tails), and 2^n is applied as two exact multiplies by 2^floor(n/2) and 2^(n - floor(n/2))
// built in the exponent bits, both normal numbers for every n the kernels produce
// (n >= -217 for float, >= -1587 for double), so the one rounding into the subnormal range
// matches vscalefp*.
// Island rules: intrinsics and local helpers only (no inline/template code from shared
// headers; activations.hpp is included for the enum alone).
#include <immintrin.h>

#include <cstdint>

#include "lamina/activations.hpp"
#include "ops_isa.hpp"

namespace lamina::ops_isa {

namespace {

struct F32x8 {
  using T = float;
  using V = __m256;
  using M = __m256;  // all-ones lanes
  static constexpr int W = 8;
  static V set1(T v) { return _mm256_set1_ps(v); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static V load(M m, const T* p) { return _mm256_maskload_ps(p, _mm256_castps_si256(m)); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static void store(M m, T* p, V v) { _mm256_maskstore_ps(p, _mm256_castps_si256(m), v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static V neg(V a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static V copysign(V mag, V sgn) {
    const V sb = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sb, mag), _mm256_and_ps(sb, sgn));
  }
  static M gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static V blend(M m, V a, V b) { return _mm256_blendv_ps(a, b, m); }  // m ? b : a
  static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V pow2(V h) {  // 2^h for integral h in [-126, 127]
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(h), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static V scalef(V a, V n) {
    const V h1 = _mm256_floor_ps(_mm256_mul_ps(n, _mm256_set1_ps(0.5f)));
    return _mm256_mul_ps(_mm256_mul_ps(a, pow2(h1)), pow2(_mm256_sub_ps(n, h1)));
  }
  static T hsum(V a) {  // fixed order: halves, then pairs
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static T hmax(V a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static M tail(std::int64_t r) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)), idx));
  }
  static V expm1_poly(V r) {
    V p = set1(1.0f / 5040);
    p = fma(p, r, set1(1.0f / 720));
    p = fma(p, r, set1(1.0f / 120));
    p = fma(p, r, set1(1.0f / 24));
    p = fma(p, r, set1(1.0f / 6));
    p = fma(p, r, set1(0.5f));
    return fma(mul(r, r), p, r);
  }
  static constexpr T kLog2e = 1.44269504088896341f;
  static constexpr T kLn2Hi = 0.693359375f;
  static constexpr T kLn2Lo = -2.12194440e-4f;
  static constexpr T kMinArg = -150.0f;
  static constexpr bool kFastErf = true;
  static constexpr int kLog1pTerms = 7;
};

struct F64x4 {
  using T = double;
  using V = __m256d;
  using M = __m256d;
  static constexpr int W = 4;
  static V set1(T v) { return _mm256_set1_pd(v); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static V load(M m, const T* p) { return _mm256_maskload_pd(p, _mm256_castpd_si256(m)); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static void store(M m, T* p, V v) { _mm256_maskstore_pd(p, _mm256_castpd_si256(m), v); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
  static V min(V a, V b) { return _mm256_min_pd(a, b); }
  static V abs(V a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
  static V neg(V a) { return _mm256_xor_pd(a, _mm256_set1_pd(-0.0)); }
  static V copysign(V mag, V sgn) {
    const V sb = _mm256_set1_pd(-0.0);
    return _mm256_or_pd(_mm256_andnot_pd(sb, mag), _mm256_and_pd(sb, sgn));
  }
  static M gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
  static V blend(M m, V a, V b) { return _mm256_blendv_pd(a, b, m); }
  static V round(V a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V pow2(V h) {  // 2^h for integral h in [-1022, 1023]
    const __m256i e = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(h)),
                                       _mm256_set1_epi64x(1023));
    return _mm256_castsi256_pd(_mm256_slli_epi64(e, 52));
  }
  static V scalef(V a, V n) {
    const V h1 = _mm256_floor_pd(_mm256_mul_pd(n, _mm256_set1_pd(0.5)));
    return _mm256_mul_pd(_mm256_mul_pd(a, pow2(h1)), pow2(_mm256_sub_pd(n, h1)));
  }
  static T hsum(V a) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static T hmax(V a) {
    __m128d s = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    s = _mm_max_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static M tail(std::int64_t r) {
    const __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x(r), idx));
  }
  static V expm1_poly(V r) {
    V p = set1(1.0 / 6227020800.0);
    p = fma(p, r, set1(1.0 / 479001600.0));
    p = fma(p, r, set1(1.0 / 39916800.0));
    p = fma(p, r, set1(1.0 / 3628800.0));
    p = fma(p, r, set1(1.0 / 362880.0));
    p = fma(p, r, set1(1.0 / 40320.0));
    p = fma(p, r, set1(1.0 / 5040.0));
    p = fma(p, r, set1(1.0 / 720.0));
    p = fma(p, r, set1(1.0 / 120.0));
    p = fma(p, r, set1(1.0 / 24.0));
    p = fma(p, r, set1(1.0 / 6.0));
    p = fma(p, r, set1(0.5));
    return fma(mul(r, r), p, r);
  }
  static constexpr T kLog2e = 1.4426950408889634074;
  static constexpr T kLn2Hi = 6.93147180369123816490e-01;
  static constexpr T kLn2Lo = 1.90821492927058770002e-10;
  static constexpr T kMinArg = -1100.0;
  static constexpr bool kFastErf = false;
  static constexpr int kLog1pTerms = 16;
};

}  // namespace
}  // namespace lamina::ops_isa

#include "activations_simd.hpp"

namespace lamina::ops_isa {

bool act_forward_row_f32_avx2(int act, float alpha, std::int64_t n, const float* x, float* y) {
  return forward_row<F32x8>(act, alpha, n, x, y);
}
bool act_forward_row_f64_avx2(int act, double alpha, std::int64_t n, const double* x, double* y) {
  return forward_row<F64x4>(act, alpha, n, x, y);
}
bool act_backward_row_f32_avx2(int act, float alpha, std::int64_t n, const float* x,
                               const float* y, const float* dy, float* dx) {
  return backward_row<F32x8>(act, alpha, n, x, y, dy, dx);
}
bool act_backward_row_f64_avx2(int act, double alpha, std::int64_t n, const double* x,
                               const double* y, const double* dy, double* dx) {
  return backward_row<F64x4>(act, alpha, n, x, y, dy, dx);
}

}  // namespace lamina::ops_isa
