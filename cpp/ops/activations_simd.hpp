// Island-private: the vector kernels of the activation islands, written once over a traits
// type O (activations_avx512.cpp: 16 floats / 8 doubles with k-masks; activations_avx2.cpp:
// 8 floats / 4 doubles with vector masks). Included ONLY by *_avx2.cpp / *_avx512.cpp files,
// after their traits, and everything here has internal linkage (anonymous namespace), so each
// island gets its own copy compiled with its own flags: no inline or template symbol can be
// shared with (and picked by the linker for) another ISA's object.
//
// Covered (forward / backward): sigmoid (fwd), tanh (fwd), elu, selu, gelu_tanh, silu,
// softplus, softmax, log_softmax, and exact gelu in float
// (an erfc fit good to float precision only; double gelu runs the libm reference).
// Everything else returns false and runs the reference row in activations.cpp.
//
// NaN inputs give NaN outputs (min/max take the constant first: x86 min/max return their
// second operand when one is NaN).
//
// Vector exp: every argument here is <= 0 (exp(-|x|), expm1(-2|x|), x - rowmax, x <= 0 of
// elu), so there is no overflow to guard. y = n ln2 + r with n = round(y / ln2) and a two-part
// ln2 (Cody-Waite), |r| <= ln2 / 2; expm1(r) by its Taylor polynomial (degree 7 for float,
// 13 for double: truncation < 0.3 ulp); exp(y) = 2^n (1 + expm1 r) and
// expm1(y) = 2^n expm1(r) + (2^n - 1), where O::scalef multiplies by 2^n and flushes results
// below the subnormal range to 0 (so exp(-1e4) = 0, no NaN). Results are within a few ulp of
// the libm reference rows; tests bound the difference.
#pragma once

#include <cstdint>

#include "lamina/activations.hpp"  // the enum only
#include "lamina/compiler.hpp"

namespace lamina::ops_isa {
namespace {

// y <= 0 (or tiny positive): y = n ln2 + r; returns expm1(r), writes n.
template <class O>
inline typename O::V reduce(typename O::V y, typename O::V* n) {
  y = O::max(O::set1(O::kMinArg), y);  // max(c, NaN) = NaN: NaN propagates
  *n = O::round(O::mul(y, O::set1(O::kLog2e)));
  typename O::V r = O::fnma(*n, O::set1(O::kLn2Hi), y);
  r = O::fnma(*n, O::set1(O::kLn2Lo), r);
  return O::expm1_poly(r);
}

template <class O>
inline typename O::V vexp(typename O::V y) {
  typename O::V n;
  const typename O::V p = reduce<O>(y, &n);
  return O::scalef(O::add(p, O::set1(1)), n);
}

template <class O>
inline typename O::V vexpm1(typename O::V y) {
  typename O::V n;
  const typename O::V p = reduce<O>(y, &n);
  const typename O::V one = O::set1(1);
  return O::add(O::scalef(p, n), O::sub(O::scalef(one, n), one));
}

// exp(a + b) where a carries the magnitude exactly (e.g. -x^2/2 split by an FMA) and b is a
// correction of order 1: the reduction subtracts n ln2 from a alone, so a's low bits survive.
template <class O>
inline typename O::V vexp_sum(typename O::V a, typename O::V b) {
  a = O::max(O::set1(O::kMinArg), a);
  const typename O::V n = O::round(O::mul(O::add(a, b), O::set1(O::kLog2e)));
  typename O::V r = O::fnma(n, O::set1(O::kLn2Hi), a);
  r = O::add(r, b);
  r = O::fnma(n, O::set1(O::kLn2Lo), r);
  return O::scalef(O::add(O::expm1_poly(r), O::set1(1)), n);
}

// Phi(x) = 0.5 erfc(-x / sqrt 2) with relative accuracy in the lower tail, and
// pdf = exp(-x^2 / 2) (unnormalised). erfc(z), z = |x| / sqrt 2 >= 0, is the Chebyshev fit of
// Numerical Recipes (erfcc: t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), relative error
// < 1.1e-7 for every z >= 0, checked against scipy), with x^2 = hi + lo split exactly by an
// FMA so that exp(-z^2) keeps float accuracy far into the tail. Float only (O::kFastErf).
template <class O>
inline void vphi(typename O::V x, typename O::V* cdf, typename O::V* pdf) {
  using V = typename O::V;
  using T = typename O::T;
  const V ax = O::abs(x);
  const V hi = O::mul(ax, ax);
  const V lo = O::fma(ax, ax, O::neg(hi));  // x^2 - hi, exact
  const V mhalf = O::set1(T(-0.5));
  const V a = O::mul(mhalf, hi), b = O::mul(mhalf, lo);  // -x^2/2 = a + b
  const V z = O::mul(ax, O::set1(T(0.70710678118654752440)));
  const V t = O::div(O::set1(1), O::fma(O::set1(T(0.5)), z, O::set1(1)));
  V q = O::set1(T(0.17087277));
  q = O::fma(q, t, O::set1(T(-0.82215223)));
  q = O::fma(q, t, O::set1(T(1.48851587)));
  q = O::fma(q, t, O::set1(T(-1.13520398)));
  q = O::fma(q, t, O::set1(T(0.27886807)));
  q = O::fma(q, t, O::set1(T(-0.18628806)));
  q = O::fma(q, t, O::set1(T(0.09678418)));
  q = O::fma(q, t, O::set1(T(0.37409196)));
  q = O::fma(q, t, O::set1(T(1.00002368)));
  q = O::fma(q, t, O::set1(T(-1.26551223)));
  const V half_erfc = O::mul(O::set1(T(0.5)), O::mul(t, vexp_sum<O>(a, O::add(b, q))));
  *cdf = O::blend(O::ge(x, O::set1(0)), half_erfc, O::sub(O::set1(1), half_erfc));
  *pdf = vexp_sum<O>(a, b);
}

// log1p(e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) in [0, 1/3], by its series
// 2 s (1 + s^2/3 + s^4/5 + ...), O::kLog1pTerms terms (float 7, double 16: truncation below
// 0.3 ulp); relative accuracy holds for tiny e (s ~ e / 2).
template <class O>
inline typename O::V vlog1p_unit(typename O::V e) {
  using V = typename O::V;
  using T = typename O::T;
  const V s = O::div(e, O::add(O::set1(2), e));
  const V w = O::mul(s, s);
  V p = O::set1(T(1) / T(2 * O::kLog1pTerms - 1));
  for (int k = O::kLog1pTerms - 2; k >= 0; --k) p = O::fma(p, w, O::set1(T(1) / T(2 * k + 1)));
  return O::mul(O::add(s, s), p);
}

// sigmoid(x) from e = exp(-|x|): x >= 0 ? 1 / (1 + e) : e / (1 + e)
template <class O>
inline typename O::V vsigmoid(typename O::V x) {
  const typename O::V e = vexp<O>(O::neg(O::abs(x)));
  const typename O::V r = O::div(O::set1(1), O::add(O::set1(1), e));
  return O::blend(O::ge(x, O::set1(0)), O::mul(e, r), r);
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kGeluC = 0.044715;

// Element-wise forward kernels: f(x, alpha) on one vector.
template <class O>
struct Fwd {
  using V = typename O::V;
  using T = typename O::T;
  static V sigmoid(V x, T) { return vsigmoid<O>(x); }
  static V tanh(V x, T) {  // sign(x) * -em / (2 + em), em = expm1(-2|x|)
    const V em = vexpm1<O>(O::mul(O::set1(-2), O::abs(x)));
    return O::copysign(O::div(em, O::add(O::set1(2), em)), x);
  }
  static V elu(V x, T a) {
    const V neg = O::mul(O::set1(a), vexpm1<O>(O::min(O::set1(0), x)));
    return O::blend(O::gt(x, O::set1(0)), neg, x);
  }
  static V selu(V x, T) {
    const V neg = O::mul(O::set1(T(kSeluScale * kSeluAlpha)), vexpm1<O>(O::min(O::set1(0), x)));
    return O::blend(O::gt(x, O::set1(0)), neg, O::mul(O::set1(T(kSeluScale)), x));
  }
  static V gelu_tanh(V x, T) {
    const V x3 = O::mul(O::mul(x, x), x);
    const V u = O::mul(O::set1(T(kSqrt2OverPi)), O::fma(O::set1(T(kGeluC)), x3, x));
    return O::mul(x, vsigmoid<O>(O::add(u, u)));
  }
  static V silu(V x, T) { return O::mul(x, vsigmoid<O>(x)); }
  static V softplus(V x, T) {  // max(x, 0) + log1p(exp(-|x|))
    return O::add(O::max(x, O::set1(0)), vlog1p_unit<O>(vexp<O>(O::neg(O::abs(x)))));
  }
  static V gelu(V x, T) {
    V cdf, pdf;
    vphi<O>(x, &cdf, &pdf);
    return O::mul(x, cdf);
  }
};

// Element-wise backward kernels: dx from (x, y, dy).
template <class O>
struct Bwd {
  using V = typename O::V;
  using T = typename O::T;
  static V elu(V x, V, V dy, T a) {
    const V d = O::mul(O::set1(a), vexp<O>(O::min(O::set1(0), x)));
    return O::mul(dy, O::blend(O::gt(x, O::set1(0)), d, O::set1(1)));
  }
  static V selu(V x, V, V dy, T) {
    const V d = O::mul(O::set1(T(kSeluScale * kSeluAlpha)), vexp<O>(O::min(O::set1(0), x)));
    return O::mul(dy, O::blend(O::gt(x, O::set1(0)), d, O::set1(T(kSeluScale))));
  }
  static V gelu_tanh(V x, V, V dy, T) {
    const V xx = O::mul(x, x);
    const V u = O::mul(O::set1(T(kSqrt2OverPi)), O::fma(O::set1(T(kGeluC)), O::mul(xx, x), x));
    const V s = vsigmoid<O>(O::add(u, u));
    const V du = O::mul(O::set1(T(kSqrt2OverPi)), O::fma(O::set1(T(3 * kGeluC)), xx, O::set1(1)));
    const V ds = O::mul(O::add(s, s), O::sub(O::set1(1), s));  // d sigmoid(2u) / du
    return O::mul(dy, O::fma(O::mul(x, ds), du, s));
  }
  static V silu(V x, V, V dy, T) {
    const V s = vsigmoid<O>(x);
    return O::mul(dy, O::fma(O::mul(x, s), O::sub(O::set1(1), s), s));
  }
  static V softplus(V x, V, V dy, T) { return O::mul(dy, vsigmoid<O>(x)); }
  static V gelu(V x, V, V dy, T) {  // Phi(x) + x phi(x)
    V cdf, pdf;
    vphi<O>(x, &cdf, &pdf);
    return O::mul(dy, O::fma(O::mul(x, pdf), O::set1(T(0.39894228040143267794)), cdf));
  }
};

template <class O, class F>
inline void map1(std::int64_t n, const typename O::T* x, typename O::T* y, typename O::T a, F f) {
  std::int64_t j = 0;
  for (; j + O::W <= n; j += O::W) O::store(y + j, f(O::load(x + j), a));
  if (j < n) {
    const typename O::M m = O::tail(n - j);
    O::store(m, y + j, f(O::load(m, x + j), a));
  }
}

template <class O, class F>
inline void map3(std::int64_t n, const typename O::T* x, const typename O::T* y,
                 const typename O::T* dy, typename O::T* dx, typename O::T a, F f) {
  using V = typename O::V;
  const V zero = O::set1(0);
  std::int64_t j = 0;
  for (; j + O::W <= n; j += O::W)
    O::store(dx + j, f(x ? O::load(x + j) : zero, y ? O::load(y + j) : zero, O::load(dy + j), a));
  if (j < n) {
    const typename O::M m = O::tail(n - j);
    O::store(m, dx + j,
             f(x ? O::load(m, x + j) : zero, y ? O::load(m, y + j) : zero, O::load(m, dy + j), a));
  }
}

template <class O>
typename O::T row_max(std::int64_t n, const typename O::T* x) {
  using V = typename O::V;
  V m = O::set1(x[0]);
  std::int64_t j = 0;
  for (; j + O::W <= n; j += O::W) m = O::max(m, O::load(x + j));
  if (j < n) m = O::max(m, O::blend(O::tail(n - j), O::set1(x[0]), O::load(O::tail(n - j), x + j)));
  return O::hmax(m);
}

// softmax / log_softmax rows: max, sum of exp(x - max) in vector lanes (fixed order), finish.
template <class O>
void softmax_row(bool log, std::int64_t n, const typename O::T* x, typename O::T* y) {
  using V = typename O::V;
  using T = typename O::T;
  const V mv = O::set1(row_max<O>(n, x));
  V s = O::set1(0);
  std::int64_t j = 0;
  for (; j + O::W <= n; j += O::W) {
    const V e = vexp<O>(O::sub(O::load(x + j), mv));
    if (!log) O::store(y + j, e);
    s = O::add(s, e);
  }
  if (j < n) {
    const typename O::M m = O::tail(n - j);
    const V e = O::blend(m, O::set1(0), vexp<O>(O::sub(O::load(m, x + j), mv)));
    if (!log) O::store(m, y + j, e);
    s = O::add(s, e);
  }
  const double sum = static_cast<double>(O::hsum(s));
  if (log) {
    const V shift = O::set1(static_cast<T>(static_cast<double>(O::hmax(mv)) + LAMINA_LOG(sum)));
    map1<O>(n, x, y, T(0), [&](V v, T) { return O::sub(v, shift); });
  } else {
    const V inv = O::set1(static_cast<T>(1.0 / sum));
    map1<O>(n, y, y, T(0), [&](V v, T) { return O::mul(v, inv); });
  }
}

template <class O>
void softmax_back_row(bool log, std::int64_t n, const typename O::T* y, const typename O::T* dy,
                      typename O::T* dx) {
  using V = typename O::V;
  using T = typename O::T;
  V s = O::set1(0);
  std::int64_t j = 0;
  for (; j + O::W <= n; j += O::W)
    s = log ? O::add(s, O::load(dy + j)) : O::fma(O::load(dy + j), O::load(y + j), s);
  if (j < n) {
    const typename O::M m = O::tail(n - j);
    s = log ? O::add(s, O::load(m, dy + j)) : O::fma(O::load(m, dy + j), O::load(m, y + j), s);
  }
  const V sv = O::set1(O::hsum(s));
  if (log)  // dx = dy - exp(y) * sum(dy)
    map3<O>(n, nullptr, y, dy, dx, T(0),
            [&](V, V yv, V g, T) { return O::fnma(vexp<O>(yv), sv, g); });
  else  // dx = y * (dy - sum(dy * y))
    map3<O>(n, nullptr, y, dy, dx, T(0),
            [&](V, V yv, V g, T) { return O::mul(yv, O::sub(g, sv)); });
}

template <class O>
bool forward_row(int act, typename O::T a, std::int64_t n, const typename O::T* x,
                 typename O::T* y) {
  using F = Fwd<O>;
  using V = typename O::V;
  using T = typename O::T;
  switch (static_cast<Activation>(act)) {
    case Activation::sigmoid:
      map1<O>(n, x, y, a, [](V v, T s) { return F::sigmoid(v, s); });
      return true;
    case Activation::tanh: map1<O>(n, x, y, a, [](V v, T s) { return F::tanh(v, s); }); return true;
    case Activation::elu: map1<O>(n, x, y, a, [](V v, T s) { return F::elu(v, s); }); return true;
    case Activation::selu: map1<O>(n, x, y, a, [](V v, T s) { return F::selu(v, s); }); return true;
    case Activation::gelu_tanh:
      map1<O>(n, x, y, a, [](V v, T s) { return F::gelu_tanh(v, s); });
      return true;
    case Activation::silu: map1<O>(n, x, y, a, [](V v, T s) { return F::silu(v, s); }); return true;
    case Activation::softplus:
      map1<O>(n, x, y, a, [](V v, T s) { return F::softplus(v, s); });
      return true;
    case Activation::gelu:
      if (!O::kFastErf) return false;
      map1<O>(n, x, y, a, [](V v, T s) { return F::gelu(v, s); });
      return true;
    case Activation::softmax: softmax_row<O>(false, n, x, y); return true;
    case Activation::log_softmax: softmax_row<O>(true, n, x, y); return true;
    default: return false;
  }
}

template <class O>
bool backward_row(int act, typename O::T a, std::int64_t n, const typename O::T* x,
                  const typename O::T* y, const typename O::T* dy, typename O::T* dx) {
  using B = Bwd<O>;
  using V = typename O::V;
  using T = typename O::T;
  switch (static_cast<Activation>(act)) {
    case Activation::elu:
      map3<O>(n, x, y, dy, dx, a, [](V u, V v, V g, T s) { return B::elu(u, v, g, s); });
      return true;
    case Activation::selu:
      map3<O>(n, x, y, dy, dx, a, [](V u, V v, V g, T s) { return B::selu(u, v, g, s); });
      return true;
    case Activation::gelu_tanh:
      map3<O>(n, x, y, dy, dx, a, [](V u, V v, V g, T s) { return B::gelu_tanh(u, v, g, s); });
      return true;
    case Activation::silu:
      map3<O>(n, x, y, dy, dx, a, [](V u, V v, V g, T s) { return B::silu(u, v, g, s); });
      return true;
    case Activation::softplus:
      map3<O>(n, x, y, dy, dx, a, [](V u, V v, V g, T s) { return B::softplus(u, v, g, s); });
      return true;
    case Activation::gelu:
      if (!O::kFastErf) return false;
      map3<O>(n, x, y, dy, dx, a, [](V u, V v, V g, T s) { return B::gelu(u, v, g, s); });
      return true;
    case Activation::softmax: softmax_back_row<O>(false, n, y, dy, dx); return true;
    case Activation::log_softmax: softmax_back_row<O>(true, n, y, dy, dx); return true;
    default: return false;
  }
}

}  // namespace
}  // namespace lamina::ops_isa
