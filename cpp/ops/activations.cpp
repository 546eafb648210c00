// Activations, forward and backward, over (rows, cols) row-major buffers.
//
// Contract: cpp/include/lamina/activations.hpp. Shapes: x, y, dy, dx are (rows, cols) with row
// strides ldx, ldy, lddy, lddx (elements). Element-wise activations run one flat loop per row;
// softmax / log_softmax reduce within a row (max, then sum of exp) in a fixed order.
//
// Layout of this file
// - `ref_*`: the plain -O3 reference loops (std:: maths, the stable forms below). They are the
//   only path on generic and the test oracle for the per-ISA islands.
// - Per-ISA fast rows (activations_avx2.cpp / activations_avx512.cpp over the kernels of
//   activations_simd.hpp: a vector exp for sigmoid, tanh, silu, softplus, elu/selu,
//   gelu_tanh, float gelu and the softmaxes) are picked per call from a table indexed by
//   active_isa(); what an ISA has no kernel for falls back to the reference row.
// - Big buffers are split over rows (or, when contiguous, over element chunks) with
//   parallel_for; every output depends on its own row only, so threads never change results.
//
// Stability (|x| up to 1e4, float and double): sigmoid uses exp(-|x|) on both sides, softplus
// max(x,0) + log1p(exp(-|x|)), gelu exact 0.5 x erfc(-x/sqrt2), gelu_tanh x * sigmoid(2u)
// (no 1 + tanh cancellation), elu expm1 only on x <= 0, softmaxes subtract the row max.
#include "lamina/activations.hpp"

#include <cmath>
#include <string>

#include "lamina/runtime.hpp"
#include "name_table.hpp"
#include "ops_isa.hpp"

namespace lamina {

namespace {

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSqrt2OverPi = 0.7978845608028654;   // sqrt(2 / pi)
constexpr double kInvSqrt2 = 0.70710678118654752440;   // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)
constexpr double kGeluC = 0.044715;

constexpr ops_detail::NamedValue<Activation> kNames[] = {
    {"linear", Activation::linear},       {"sigmoid", Activation::sigmoid},
    {"tanh", Activation::tanh},           {"relu", Activation::relu},
    {"leaky_relu", Activation::leaky_relu}, {"elu", Activation::elu},
    {"selu", Activation::selu},           {"gelu", Activation::gelu},
    {"gelu_tanh", Activation::gelu_tanh}, {"softplus", Activation::softplus},
    {"softsign", Activation::softsign},   {"silu", Activation::silu},
    {"swish", Activation::silu},          {"hard_sigmoid", Activation::hard_sigmoid},
    {"softmax", Activation::softmax},     {"log_softmax", Activation::log_softmax},
    {"relu6", Activation::relu6},         {"hard_silu", Activation::hard_silu},
    {"hard_swish", Activation::hard_silu}, {"mish", Activation::mish},
    {"log_sigmoid", Activation::log_sigmoid},
};

template <class T>
inline T sigmoid_scalar(T x) {
  // exp of a non-positive argument only: no overflow for any x.
  const T e = std::exp(-std::fabs(x));
  const T r = T(1) / (T(1) + e);
  return x >= T(0) ? r : e * r;
}

template <class T>
inline T softplus_scalar(T x) {  // log(1 + exp(x)) without overflow
  return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::fabs(x)));
}

// ---- reference forward rows -------------------------------------------------------------
template <class T>
void ref_forward_row(Activation act, T alpha, std::int64_t n, const T* x, T* y) {
  switch (act) {
    case Activation::linear:
      if (y != x) std::memmove(y, x, sizeof(T) * static_cast<std::size_t>(n));
      return;
    case Activation::sigmoid:
      for (std::int64_t j = 0; j < n; ++j) y[j] = sigmoid_scalar(x[j]);
      return;
    case Activation::tanh:
      for (std::int64_t j = 0; j < n; ++j) y[j] = std::tanh(x[j]);
      return;
    case Activation::relu:
      for (std::int64_t j = 0; j < n; ++j) {  // NaN stays NaN, like np.maximum
        const T v = x[j];
        y[j] = v <= T(0) ? T(0) : v;
      }
      return;
    case Activation::leaky_relu:
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        y[j] = v <= T(0) ? alpha * v : v;
      }
      return;
    case Activation::elu:
      for (std::int64_t j = 0; j < n; ++j)
        y[j] = x[j] > T(0) ? x[j] : alpha * std::expm1(x[j]);
      return;
    case Activation::selu: {
      const T s = T(kSeluScale), sa = T(kSeluScale * kSeluAlpha);
      for (std::int64_t j = 0; j < n; ++j)
        y[j] = x[j] > T(0) ? s * x[j] : sa * std::expm1(x[j]);
      return;
    }
    case Activation::gelu:
      for (std::int64_t j = 0; j < n; ++j)
        y[j] = T(0.5) * x[j] * std::erfc(-x[j] * T(kInvSqrt2));
      return;
    case Activation::gelu_tanh:
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        const T u = T(kSqrt2OverPi) * (v + T(kGeluC) * v * v * v);
        y[j] = v * sigmoid_scalar(T(2) * u);  // 0.5 (1 + tanh u) == sigmoid(2u)
      }
      return;
    case Activation::softplus:
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        y[j] = (v > T(0) ? v : T(0)) + std::log1p(std::exp(-std::fabs(v)));
      }
      return;
    case Activation::softsign:
      for (std::int64_t j = 0; j < n; ++j) y[j] = x[j] / (T(1) + std::fabs(x[j]));
      return;
    case Activation::silu:
      for (std::int64_t j = 0; j < n; ++j) y[j] = x[j] * sigmoid_scalar(x[j]);
      return;
    case Activation::hard_sigmoid:
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j] / T(6) + T(0.5);
        y[j] = v <= T(0) ? T(0) : (v >= T(1) ? T(1) : v);
      }
      return;
    case Activation::relu6:
      for (std::int64_t j = 0; j < n; ++j) {  // NaN stays NaN
        const T v = x[j];
        y[j] = v <= T(0) ? T(0) : (v >= T(6) ? T(6) : v);
      }
      return;
    case Activation::hard_silu:
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j], h = v + T(3);
        y[j] = v * ((h <= T(0) ? T(0) : (h >= T(6) ? T(6) : h)) / T(6));
      }
      return;
    case Activation::mish:
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        y[j] = v * std::tanh(softplus_scalar(v));
      }
      return;
    case Activation::log_sigmoid:  // -softplus(-x) = min(x, 0) - log1p(exp(-|x|))
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        y[j] = (v < T(0) ? v : T(0)) - std::log1p(std::exp(-std::fabs(v)));
      }
      return;
    case Activation::softmax: {
      if (n == 0) return;
      T m = x[0];
      for (std::int64_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
      double s = 0.0;
      for (std::int64_t j = 0; j < n; ++j) {
        y[j] = std::exp(x[j] - m);
        s += static_cast<double>(y[j]);
      }
      const T inv = static_cast<T>(1.0 / s);
      for (std::int64_t j = 0; j < n; ++j) y[j] *= inv;
      return;
    }
    case Activation::log_softmax: {
      if (n == 0) return;
      T m = x[0];
      for (std::int64_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
      double s = 0.0;
      for (std::int64_t j = 0; j < n; ++j) s += static_cast<double>(std::exp(x[j] - m));
      const T shift = m + static_cast<T>(std::log(s));
      for (std::int64_t j = 0; j < n; ++j) y[j] = x[j] - shift;
      return;
    }
  }
}

// ---- reference backward rows ------------------------------------------------------------
template <class T>
void ref_backward_row(Activation act, T alpha, std::int64_t n, const T* x, const T* y,
                      const T* dy, T* dx) {
  switch (act) {
    case Activation::linear:
      if (dx != dy) std::memmove(dx, dy, sizeof(T) * static_cast<std::size_t>(n));
      return;
    case Activation::sigmoid:
      for (std::int64_t j = 0; j < n; ++j) dx[j] = dy[j] * (y[j] * (T(1) - y[j]));
      return;
    case Activation::tanh:
      for (std::int64_t j = 0; j < n; ++j) dx[j] = dy[j] * (T(1) - y[j] * y[j]);
      return;
    case Activation::relu:  // relu'(0) = 0; y > 0 exactly when x > 0
      // Operands are loaded before the select so that the compiler can if-convert and
      // vectorise (a branch on random signs mispredicts half the time).
      for (std::int64_t j = 0; j < n; ++j) {
        const T g = dy[j];
        dx[j] = y[j] > T(0) ? g : T(0);
      }
      return;
    case Activation::leaky_relu:
      for (std::int64_t j = 0; j < n; ++j) {
        const T g = dy[j];
        dx[j] = g * (x[j] > T(0) ? T(1) : alpha);
      }
      return;
    case Activation::elu:
      for (std::int64_t j = 0; j < n; ++j)
        dx[j] = x[j] > T(0) ? dy[j] : dy[j] * (alpha * std::exp(x[j]));
      return;
    case Activation::selu: {
      const T s = T(kSeluScale), sa = T(kSeluScale * kSeluAlpha);
      for (std::int64_t j = 0; j < n; ++j)
        dx[j] = dy[j] * (x[j] > T(0) ? s : sa * std::exp(x[j]));
      return;
    }
    case Activation::gelu:  // Phi(x) + x phi(x)
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        const T cdf = T(0.5) * std::erfc(-v * T(kInvSqrt2));
        const T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v);
        dx[j] = dy[j] * (cdf + v * pdf);
      }
      return;
    case Activation::gelu_tanh:
      // y = x s, s = sigmoid(2u), u = c (x + k x^3): y' = s + x * 2 s (1 - s) * c (1 + 3 k x^2)
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        const T u = T(kSqrt2OverPi) * (v + T(kGeluC) * v * v * v);
        const T s = sigmoid_scalar(T(2) * u);
        const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluC) * v * v);
        dx[j] = dy[j] * (s + v * (T(2) * s * (T(1) - s)) * du);
      }
      return;
    case Activation::softplus:
      for (std::int64_t j = 0; j < n; ++j) dx[j] = dy[j] * sigmoid_scalar(x[j]);
      return;
    case Activation::softsign:
      for (std::int64_t j = 0; j < n; ++j) {
        const T d = T(1) + std::fabs(x[j]);
        dx[j] = dy[j] / (d * d);
      }
      return;
    case Activation::silu:
      for (std::int64_t j = 0; j < n; ++j) {
        const T s = sigmoid_scalar(x[j]);
        dx[j] = dy[j] * (s + x[j] * s * (T(1) - s));
      }
      return;
    case Activation::hard_sigmoid:
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j], g = dy[j] * T(1.0 / 6.0);
        dx[j] = (v > T(-3) && v < T(3)) ? g : T(0);
      }
      return;
    case Activation::relu6:  // 0 at both kinks, like relu'(0)
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j], g = dy[j];
        dx[j] = (v > T(0) && v < T(6)) ? g : T(0);
      }
      return;
    case Activation::hard_silu:  // 0 below -3, 1 above 3, (2x + 3) / 6 between
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        dx[j] = v <= T(-3) ? T(0) : (v >= T(3) ? dy[j] : dy[j] * ((T(2) * v + T(3)) / T(6)));
      }
      return;
    case Activation::mish:  // tanh(sp) + x * sigmoid(x) * (1 - tanh(sp)^2)
      for (std::int64_t j = 0; j < n; ++j) {
        const T v = x[j];
        const T t = std::tanh(softplus_scalar(v));
        dx[j] = dy[j] * (t + v * sigmoid_scalar(v) * (T(1) - t * t));
      }
      return;
    case Activation::log_sigmoid:  // sigmoid(-x)
      for (std::int64_t j = 0; j < n; ++j) dx[j] = dy[j] * sigmoid_scalar(-x[j]);
      return;
    case Activation::softmax: {
      double s = 0.0;
      for (std::int64_t j = 0; j < n; ++j) s += static_cast<double>(dy[j]) * y[j];
      const T st = static_cast<T>(s);
      for (std::int64_t j = 0; j < n; ++j) dx[j] = y[j] * (dy[j] - st);
      return;
    }
    case Activation::log_softmax: {
      double s = 0.0;
      for (std::int64_t j = 0; j < n; ++j) s += static_cast<double>(dy[j]);
      const T st = static_cast<T>(s);
      for (std::int64_t j = 0; j < n; ++j) dx[j] = dy[j] - std::exp(y[j]) * st;
      return;
    }
  }
}

// ---- per-ISA fast rows ------------------------------------------------------------------
template <class T>
struct FastRows {
  ops_isa::ActForwardRow<T> fwd = nullptr;
  ops_isa::ActBackwardRow<T> bwd = nullptr;
};

// Per-ISA table, newest last, looked up per call with active_isa() (tests lower the level at
// runtime). Null entries (generic) run the reference rows.
const FastRows<float>& fast_rows_f32(Isa isa) {
  static const FastRows<float> table[kNumIsa] = {
      {nullptr, nullptr},
#if defined(LAMINA_X86)
      {ops_isa::act_forward_row_f32_avx2, ops_isa::act_backward_row_f32_avx2},
      {ops_isa::act_forward_row_f32_avx512, ops_isa::act_backward_row_f32_avx512},
      {ops_isa::act_forward_row_f32_avx512, ops_isa::act_backward_row_f32_avx512},  // avx512_bf16
#else
      {nullptr, nullptr},
      {nullptr, nullptr},
      {nullptr, nullptr},
#endif
  };
  return table[static_cast<int>(isa)];
}

const FastRows<double>& fast_rows_f64(Isa isa) {
  static const FastRows<double> table[kNumIsa] = {
      {nullptr, nullptr},
#if defined(LAMINA_X86)
      {ops_isa::act_forward_row_f64_avx2, ops_isa::act_backward_row_f64_avx2},
      {ops_isa::act_forward_row_f64_avx512, ops_isa::act_backward_row_f64_avx512},
      {ops_isa::act_forward_row_f64_avx512, ops_isa::act_backward_row_f64_avx512},  // avx512_bf16
#else
      {nullptr, nullptr},
      {nullptr, nullptr},
      {nullptr, nullptr},
#endif
  };
  return table[static_cast<int>(isa)];
}

template <class T>
FastRows<T> fast_rows();
template <>
FastRows<float> fast_rows<float>() { return fast_rows_f32(active_isa()); }
template <>
FastRows<double> fast_rows<double>() { return fast_rows_f64(active_isa()); }

// Elements per parallel task, by cost: a task should run for tens of microseconds, or the pool
// dispatch (and, on a loaded machine, waiting for a descheduled worker) costs more than it
// saves. Memory-bound selects run at ~1 ns per 64 B; vector-exp rows at ~0.2 ns per element;
// libm rows (double gelu's erfc, everything on the generic level) at 5-20 ns per element.
std::int64_t grain(Activation a, bool forward, bool fast) {
  switch (a) {
    case Activation::linear:
    case Activation::relu:
    case Activation::leaky_relu:
    case Activation::hard_sigmoid:
    case Activation::softsign:
    case Activation::relu6:
    case Activation::hard_silu:
      return std::int64_t(1) << 18;
    case Activation::sigmoid:
    case Activation::tanh:
      if (!forward) return std::int64_t(1) << 18;  // y-only arithmetic
      break;
    default:
      break;
  }
  return fast ? std::int64_t(1) << 16 : std::int64_t(1) << 12;
}

bool has_fast(Activation a, bool forward, bool is_float) {
  switch (a) {
    case Activation::gelu:
      return is_float;
    case Activation::sigmoid:
    case Activation::tanh:
      return forward;
    case Activation::elu:
    case Activation::selu:
    case Activation::gelu_tanh:
    case Activation::silu:
    case Activation::softplus:
    case Activation::softmax:
    case Activation::log_softmax:
      return true;
    default:
      return false;
  }
}

bool is_rowwise(Activation a) {
  return a == Activation::softmax || a == Activation::log_softmax;
}

// Runs body(r0, r1, c0, c1) over the (rows, cols) grid: contiguous element-wise buffers are
// cut into element chunks (of a flattened single row), others into row ranges.
template <class F>
void split_work(std::int64_t rows, std::int64_t cols, bool flat, std::int64_t grain, F&& body) {
  const std::int64_t total = rows * cols;
  if (total <= 0) return;
  std::int64_t tasks = (total + grain - 1) / grain;
  if (flat) {
    if (tasks <= 1) {
      body(0, 1, 0, total);
      return;
    }
    parallel_for(tasks, [&](std::int64_t t) {
      // Chunk edges at multiples of 64 elements keep vector loops aligned to the same lanes.
      std::int64_t c0 = (total * t / tasks) & ~std::int64_t(63);
      std::int64_t c1 = t + 1 == tasks ? total : (total * (t + 1) / tasks) & ~std::int64_t(63);
      if (c1 > c0) body(0, 1, c0, c1);
    });
    return;
  }
  if (tasks > rows) tasks = rows;
  if (tasks <= 1) {
    body(0, rows, 0, cols);
    return;
  }
  parallel_for(tasks, [&](std::int64_t t) {
    body(rows * t / tasks, rows * (t + 1) / tasks, 0, cols);
  });
}

}  // namespace

bool parse_activation(const char* name, Activation* out) {
  return ops_detail::parse_name(kNames, name, out);
}

const char* activation_name(Activation a) { return ops_detail::name_of(kNames, a); }

const char* activation_names() {
  static const std::string s = ops_detail::names_text(kNames);
  return s.c_str();
}

bool activation_backward_needs_x(Activation a) {
  switch (a) {
    case Activation::linear:
    case Activation::sigmoid:
    case Activation::tanh:
    case Activation::relu:
    case Activation::softmax:
    case Activation::log_softmax:
      return false;
    default:
      return true;
  }
}

bool activation_is_rowwise(Activation a) { return is_rowwise(a); }

template <class T>
void activation_forward_reference(Activation act, double alpha, std::int64_t rows,
                                  std::int64_t cols, const T* x, std::int64_t ldx, T* y,
                                  std::int64_t ldy) {
  for (std::int64_t i = 0; i < rows; ++i)
    ref_forward_row<T>(act, static_cast<T>(alpha), cols, x + i * ldx, y + i * ldy);
}

template <class T>
void activation_backward_reference(Activation act, double alpha, std::int64_t rows,
                                   std::int64_t cols, const T* x, std::int64_t ldx, const T* y,
                                   std::int64_t ldy, const T* dy, std::int64_t lddy, T* dx,
                                   std::int64_t lddx) {
  for (std::int64_t i = 0; i < rows; ++i)
    ref_backward_row<T>(act, static_cast<T>(alpha), cols, x ? x + i * ldx : nullptr,
                        y ? y + i * ldy : nullptr, dy + i * lddy, dx + i * lddx);
}

template <class T>
void activation_forward(Activation act, double alpha, std::int64_t rows, std::int64_t cols,
                        const T* x, std::int64_t ldx, T* y, std::int64_t ldy) {
  if (rows <= 0 || cols <= 0) return;
  const FastRows<T> fast = fast_rows<T>();
  const T a = static_cast<T>(alpha);
  const bool flat = !is_rowwise(act) && (rows == 1 || (ldx == cols && ldy == cols));
  const int code = static_cast<int>(act);
  const bool is_float = sizeof(T) == 4;
  const std::int64_t g = grain(act, true, fast.fwd != nullptr && has_fast(act, true, is_float));
  split_work(rows, cols, flat, g, [&](std::int64_t r0, std::int64_t r1, std::int64_t c0,
                                      std::int64_t c1) {
    for (std::int64_t i = r0; i < r1; ++i) {
      const T* xr = x + i * ldx + c0;
      T* yr = y + i * ldy + c0;
      if (!(fast.fwd && fast.fwd(code, a, c1 - c0, xr, yr)))
        ref_forward_row<T>(act, a, c1 - c0, xr, yr);
    }
  });
}

template <class T>
void activation_backward(Activation act, double alpha, std::int64_t rows, std::int64_t cols,
                         const T* x, std::int64_t ldx, const T* y, std::int64_t ldy,
                         const T* dy, std::int64_t lddy, T* dx, std::int64_t lddx) {
  if (rows <= 0 || cols <= 0) return;
  const FastRows<T> fast = fast_rows<T>();
  const T a = static_cast<T>(alpha);
  const bool flat = !is_rowwise(act) &&
                    (rows == 1 || (ldx == cols && ldy == cols && lddy == cols && lddx == cols));
  const int code = static_cast<int>(act);
  const bool is_float = sizeof(T) == 4;
  const std::int64_t g = grain(act, false, fast.bwd != nullptr && has_fast(act, false, is_float));
  split_work(rows, cols, flat, g, [&](std::int64_t r0, std::int64_t r1, std::int64_t c0,
                                      std::int64_t c1) {
    for (std::int64_t i = r0; i < r1; ++i) {
      const T* xr = x ? x + i * ldx + c0 : nullptr;
      const T* yr = y ? y + i * ldy + c0 : nullptr;
      const T* dyr = dy + i * lddy + c0;
      T* dxr = dx + i * lddx + c0;
      if (!(fast.bwd && fast.bwd(code, a, c1 - c0, xr, yr, dyr, dxr)))
        ref_backward_row<T>(act, a, c1 - c0, xr, yr, dyr, dxr);
    }
  });
}

#define LAMINA_INSTANTIATE(T)                                                                  \
  template void activation_forward<T>(Activation, double, std::int64_t, std::int64_t,        \
                                      const T*, std::int64_t, T*, std::int64_t);             \
  template void activation_backward<T>(Activation, double, std::int64_t, std::int64_t,       \
                                       const T*, std::int64_t, const T*, std::int64_t,       \
                                       const T*, std::int64_t, T*, std::int64_t);            \
  template void activation_forward_reference<T>(Activation, double, std::int64_t,            \
                                                std::int64_t, const T*, std::int64_t, T*,    \
                                                std::int64_t);                               \
  template void activation_backward_reference<T>(Activation, double, std::int64_t,           \
                                                 std::int64_t, const T*, std::int64_t,       \
                                                 const T*, std::int64_t, const T*,           \
                                                 std::int64_t, T*, std::int64_t);
LAMINA_INSTANTIATE(float)
LAMINA_INSTANTIATE(double)
#undef LAMINA_INSTANTIATE

}  // namespace lamina
