// AVX-512 island of the activations: rows of the exp-based activations with a vector exp.
//
// Shapes: one contiguous row of n elements (x, y, dy, dx); the caller walks rows and threads.
// The kernels live in activations_simd.hpp (island-private, internal linkage); this file gives
// them 512-bit traits (k-mask tails, vscalefp* for 2^n) and exports the plain entry points.
// Island rules: intrinsics and local helpers only (no inline/template code from shared
// headers; activations.hpp is included for the enum alone).
#include <immintrin.h>

#include <cstdint>

#include "lamina/activations.hpp"
#include "ops_isa.hpp"

// gcc 12 flags the `_mm512_undefined_*` pass-through operand of its own intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace lamina::ops_isa {

namespace {

// ---- float / double vector traits (AVX-512) ---------------------------------------------
struct F32 {
  using T = float;
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static V set1(T v) { return _mm512_set1_ps(v); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static V load(M m, const T* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static void store(M m, T* p, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V abs(V a) { return _mm512_abs_ps(a); }
  static V neg(V a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
  static V copysign(V mag, V sgn) {  // |mag| with the sign of sgn
    const __m512i sb = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_andnot_si512(sb, _mm512_castps_si512(mag)),
        _mm512_and_si512(sb, _mm512_castps_si512(sgn))));
  }
  static M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static V blend(M m, V a, V b) { return _mm512_mask_blend_ps(m, a, b); }  // m ? b : a
  static V round(V a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V scalef(V a, V n) { return _mm512_scalef_ps(a, n); }
  static T hsum(V a) { return _mm512_reduce_add_ps(a); }
  static T hmax(V a) { return _mm512_reduce_max_ps(a); }
  static M tail(std::int64_t r) { return static_cast<M>((1u << r) - 1u); }
  // expm1(r) for |r| <= ln2/2: r + r^2 (1/2! + r/3! + ... + r^5/7!)
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
  static constexpr int kLog1pTerms = 7;  // exp below it is 0 in float; keeps n finite
};

struct F64 {
  using T = double;
  using V = __m512d;
  using M = __mmask8;
  static constexpr int W = 8;
  static V set1(T v) { return _mm512_set1_pd(v); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static V load(M m, const T* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static void store(M m, T* p, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }
  static V abs(V a) { return _mm512_abs_pd(a); }
  static V neg(V a) { return _mm512_xor_pd(a, _mm512_set1_pd(-0.0)); }
  static V copysign(V mag, V sgn) {
    const __m512i sb = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ull));
    return _mm512_castsi512_pd(_mm512_or_si512(
        _mm512_andnot_si512(sb, _mm512_castpd_si512(mag)),
        _mm512_and_si512(sb, _mm512_castpd_si512(sgn))));
  }
  static M gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
  static V blend(M m, V a, V b) { return _mm512_mask_blend_pd(m, a, b); }
  static V round(V a) {
    return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V scalef(V a, V n) { return _mm512_scalef_pd(a, n); }
  static T hsum(V a) { return _mm512_reduce_add_pd(a); }
  static T hmax(V a) { return _mm512_reduce_max_pd(a); }
  static M tail(std::int64_t r) { return static_cast<M>((1u << r) - 1u); }
  static V expm1_poly(V r) {  // r + r^2 (1/2! + ... + r^11/13!)
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

bool act_forward_row_f32_avx512(int act, float alpha, std::int64_t n, const float* x, float* y) {
  return forward_row<F32>(act, alpha, n, x, y);
}
bool act_forward_row_f64_avx512(int act, double alpha, std::int64_t n, const double* x,
                                double* y) {
  return forward_row<F64>(act, alpha, n, x, y);
}
bool act_backward_row_f32_avx512(int act, float alpha, std::int64_t n, const float* x,
                                 const float* y, const float* dy, float* dx) {
  return backward_row<F32>(act, alpha, n, x, y, dy, dx);
}
bool act_backward_row_f64_avx512(int act, double alpha, std::int64_t n, const double* x,
                                 const double* y, const double* dy, double* dx) {
  return backward_row<F64>(act, alpha, n, x, y, dy, dx);
}

}  // namespace lamina::ops_isa
