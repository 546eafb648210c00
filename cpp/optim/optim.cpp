// Fused optimizer updates (see lamina/optim.hpp for the contract and the order of operations).
//
// This file turns OptimParams + the step's scalars into a Kernel<T> (bias corrections,
// Nadam's schedule and the clipnorm factor computed once per call, in double), and runs the
// loop of kernels.inc picked from a per-ISA table (generic here, AVX2 / AVX-512 islands in
// optim_avx2.cpp / optim_avx512.cpp: the loops are bound by sqrt/div and arithmetic, not
// memory, at network sizes, so wider vectors pay; see benchmarks/RESULTS.md).
//
// Threads: the update is element-wise, so big buffers are split into contiguous blocks, one
// per thread; the reductions (clipnorm's norm, grad_sq_sum, penalty) sum fixed chunks of
// kOptimChunk elements in double, each chunk with 8 interleaved accumulators combined in a
// fixed order, and add the chunk partials in chunk order: bit-identical for any thread count.
#include "lamina/optim.hpp"

#include "lamina/runtime.hpp"

#include "kernels.inc"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace lamina {

bool parse_optimizer(const char* name, Optimizer* out) {
  static const struct {
    const char* name;
    Optimizer kind;
  } kNames[] = {{"sgd", Optimizer::sgd},         {"rmsprop", Optimizer::rmsprop},
                {"adam", Optimizer::adam},       {"adamw", Optimizer::adamw},
                {"adagrad", Optimizer::adagrad}, {"adamax", Optimizer::adamax},
                {"nadam", Optimizer::nadam}};
  if (name == nullptr) return false;
  for (const auto& e : kNames) {
    if (std::strcmp(name, e.name) == 0) {
      *out = e.kind;
      return true;
    }
  }
  return false;
}

int optim_num_slots(const OptimParams& p) {
  switch (p.kind) {
    case Optimizer::sgd: return p.momentum != 0.0 ? 1 : 0;
    case Optimizer::rmsprop: return 1 + (p.momentum > 0.0 ? 1 : 0) + (p.centered ? 1 : 0);
    case Optimizer::adam:
    case Optimizer::adamw: return p.amsgrad ? 3 : 2;
    case Optimizer::adagrad: return 1;
    case Optimizer::adamax:
    case Optimizer::nadam: return 2;
  }
  return 0;
}

double nadam_u_product_before(double beta_1, std::int64_t iteration) {
  double u = 1.0;
  for (std::int64_t i = 1; i < iteration; ++i)
    u = u * beta_1 * (1.0 - 0.5 * std::pow(0.96, static_cast<double>(i)));
  return u;
}

double global_clipnorm_scale(double sq_sum, double clipnorm) {
  const double norm = std::sqrt(sq_sum);
  if (!std::isfinite(norm)) return std::numeric_limits<double>::quiet_NaN();
  return clipnorm / (norm > clipnorm ? norm : clipnorm);
}

namespace {

// Below this many elements an update runs on the calling thread (the pool's wake-up costs
// more than the pass); above, one contiguous block per thread. Measured in
// benchmarks/bench_optim.py (see benchmarks/RESULTS.md, "Optimizers").
constexpr std::int64_t kParallelMin = 1 << 16;
// Blocks start on multiples of this many elements (whole cache lines for float and double).
constexpr std::int64_t kBlockAlign = 16;

// ---- fixed-order reductions ------------------------------------------------------------

// sum over [i0, i1) of f(i) in double with 8 interleaved accumulators, combined pairwise.
template <class F>
double chunk_sum(std::int64_t i0, std::int64_t i1, const F& f) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = i0;
  for (; i + 8 <= i1; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += f(i + k);
  for (int k = 0; i < i1; ++i, ++k) acc[k] += f(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// sum over [0, n) of f(i): chunk partials (in parallel for big n), added in chunk order.
template <class F>
double fixed_sum(std::int64_t n, const F& f) {
  if (n <= 0) return 0.0;
  const std::int64_t n_chunks = (n + kOptimChunk - 1) / kOptimChunk;
  auto chunk = [&](std::int64_t c) {
    const std::int64_t i0 = c * kOptimChunk;
    const std::int64_t i1 = i0 + kOptimChunk < n ? i0 + kOptimChunk : n;
    return chunk_sum(i0, i1, f);
  };
  if (n < kParallelMin || num_threads() == 1) {
    double total = 0.0;
    for (std::int64_t c = 0; c < n_chunks; ++c) total += chunk(c);
    return total;
  }
  double small[256];
  std::vector<double> big;
  double* part = small;
  if (n_chunks > 256) {
    big.resize(static_cast<std::size_t>(n_chunks));
    part = big.data();
  }
  parallel_for(n_chunks, [&](std::int64_t c) { part[c] = chunk(c); });
  double total = 0.0;
  for (std::int64_t c = 0; c < n_chunks; ++c) total += part[c];
  return total;
}

inline double sign_d(double x) { return static_cast<double>((x > 0) - (x < 0)); }

// ---- the per-ISA loop table -----------------------------------------------------------

using optim_detail::Kernel;

struct Ranges {
  optim_detail::RangeF32 f32;
  optim_detail::RangeF64 f64;
};

const Ranges& ranges_for(Isa isa) {
  static const Ranges kTable[kNumIsa] = {
      {optim_detail::range_generic_f32, optim_detail::range_generic_f64},
#if defined(LAMINA_X86)
      {optim_detail::range_avx2_f32, optim_detail::range_avx2_f64},
      {optim_detail::range_avx512_f32, optim_detail::range_avx512_f64},
#else
      {optim_detail::range_generic_f32, optim_detail::range_generic_f64},
      {optim_detail::range_generic_f32, optim_detail::range_generic_f64},
#endif
  };
  return kTable[static_cast<int>(isa)];
}

inline void run(const Ranges& r, const Kernel<float>& k, std::int64_t i0, std::int64_t i1,
                float* w, const float* g, float* s0, float* s1, float* s2) {
  r.f32(k, i0, i1, w, g, s0, s1, s2);
}
inline void run(const Ranges& r, const Kernel<double>& k, std::int64_t i0, std::int64_t i1,
                double* w, const double* g, double* s0, double* s1, double* s2) {
  r.f64(k, i0, i1, w, g, s0, s1, s2);
}

int select_loop(const OptimParams& p) {
  using namespace optim_detail;
  switch (p.kind) {
    case Optimizer::sgd:
      return p.momentum == 0.0 ? kSgd : (p.nesterov ? kSgdNesterov : kSgdMomentum);
    case Optimizer::rmsprop: {
      const bool mom = p.momentum > 0.0;
      if (mom && p.centered) return kRmspropMomentumCentered;
      if (mom) return kRmspropMomentum;
      return p.centered ? kRmspropCentered : kRmsprop;
    }
    case Optimizer::adam:
    case Optimizer::adamw: return p.amsgrad ? kAdamAmsgrad : kAdam;
    case Optimizer::adagrad: return kAdagrad;
    case Optimizer::adamax: return kAdamax;
    case Optimizer::nadam: return kNadam;
  }
  return kSgd;
}

template <class T>
double penalised_sq_sum(std::int64_t n, const T* g, const T* w, double l1, double l2) {
  const double l2x2 = 2.0 * l2;
  return fixed_sum(n, [=](std::int64_t i) {
    const double wi = static_cast<double>(w[i]);
    const double x = static_cast<double>(g[i]) + l1 * sign_d(wi) + l2x2 * wi;
    return x * x;
  });
}

}  // namespace

template <class T>
void optim_update(const OptimParams& p, double lr, std::int64_t iteration, double grad_scale,
                  std::int64_t n, T* w, const T* g, T* s0, T* s1, T* s2,
                  double* nadam_u_product) {
  if (n <= 0 && p.kind != Optimizer::nadam) return;
  const double t = static_cast<double>(iteration);

  // Steps 2-3: grad_scale and clipnorm fold into one factor on the penalised gradient.
  double scale = grad_scale;
  if (p.clipnorm > 0.0 && n > 0) {
    const double norm = std::fabs(grad_scale) * std::sqrt(penalised_sq_sum(n, g, w, p.l1, p.l2));
    scale *= p.clipnorm / (norm > p.clipnorm ? norm : p.clipnorm);
  }

  Kernel<T> k{};
  k.loop = select_loop(p);
  k.l1 = static_cast<T>(p.l1);
  k.l2x2 = static_cast<T>(2.0 * p.l2);
  k.scale = static_cast<T>(scale);
  k.clip = p.clipvalue > 0.0 ? static_cast<T>(p.clipvalue) : std::numeric_limits<T>::infinity();
  k.wd = p.weight_decay > 0.0 ? static_cast<T>(p.weight_decay * lr) : T(0);
  k.lr = static_cast<T>(lr);
  k.mom = static_cast<T>(p.momentum);
  k.rho = static_cast<T>(p.rho);
  k.one_minus_rho = static_cast<T>(1.0 - p.rho);
  k.one_minus_b1 = static_cast<T>(1.0 - p.beta_1);
  k.one_minus_b2 = static_cast<T>(1.0 - p.beta_2);
  k.b2 = static_cast<T>(p.beta_2);
  k.eps = static_cast<T>(p.epsilon);
  const double b1_pow = std::pow(p.beta_1, t);
  const double b2_pow = std::pow(p.beta_2, t);
  if (p.kind == Optimizer::adam || p.kind == Optimizer::adamw)
    k.alpha = static_cast<T>(lr * std::sqrt(1.0 - b2_pow) / (1.0 - b1_pow));
  if (p.kind == Optimizer::adamax) k.alpha = static_cast<T>(lr / (1.0 - b1_pow));
  if (p.kind == Optimizer::nadam) {
    const double u_t = p.beta_1 * (1.0 - 0.5 * std::pow(0.96, t));
    const double u_t1 = p.beta_1 * (1.0 - 0.5 * std::pow(0.96, t + 1.0));
    const double before =
        nadam_u_product ? *nadam_u_product : nadam_u_product_before(p.beta_1, iteration);
    // Same multiplication order as Keras' _backend_update_step: U_t = U_{t-1} * b1 * (...).
    const double prod_t = before * p.beta_1 * (1.0 - 0.5 * std::pow(0.96, t));
    const double prod_t1 = prod_t * u_t1;
    k.c_m = static_cast<T>(u_t1 / (1.0 - prod_t1));
    k.c_g = static_cast<T>((1.0 - u_t) / (1.0 - prod_t));
    k.inv_bc2 = static_cast<T>(1.0 / (1.0 - b2_pow));
    if (nadam_u_product) *nadam_u_product = prod_t;
  }
  if (n <= 0) return;

  const Ranges& r = ranges_for(active_isa());
  const int threads = num_threads();
  if (n < kParallelMin || threads == 1) {
    run(r, k, 0, n, w, g, s0, s1, s2);
    return;
  }
  // One contiguous, cache-line aligned block per thread.
  const std::int64_t per = ((n + threads - 1) / threads + kBlockAlign - 1) / kBlockAlign * kBlockAlign;
  const std::int64_t n_blocks = (n + per - 1) / per;
  parallel_for(n_blocks, [&](std::int64_t b) {
    const std::int64_t i0 = b * per;
    const std::int64_t i1 = i0 + per < n ? i0 + per : n;
    run(r, k, i0, i1, w, g, s0, s1, s2);
  });
}

template <class T>
double grad_sq_sum(std::int64_t n, const T* g) {
  return fixed_sum(n, [=](std::int64_t i) {
    const double x = static_cast<double>(g[i]);
    return x * x;
  });
}

template <class T>
double grad_sq_sum(std::int64_t n, const T* g, const T* w, double l1, double l2) {
  return penalised_sq_sum(n, g, w, l1, l2);
}

template <class T>
double penalty(double l1, double l2, std::int64_t n, const T* w) {
  double s1 = 0.0, s2 = 0.0;
  if (l1 != 0.0)
    s1 = fixed_sum(n, [=](std::int64_t i) { return std::fabs(static_cast<double>(w[i])); });
  if (l2 != 0.0)
    s2 = fixed_sum(n, [=](std::int64_t i) {
      const double x = static_cast<double>(w[i]);
      return x * x;
    });
  return l1 * s1 + l2 * s2;
}

#define LAMINA_INSTANTIATE(T)                                                                  \
  template void optim_update<T>(const OptimParams&, double, std::int64_t, double, std::int64_t, \
                                T*, const T*, T*, T*, T*, double*);                            \
  template double grad_sq_sum<T>(std::int64_t, const T*);                                      \
  template double grad_sq_sum<T>(std::int64_t, const T*, const T*, double, double);            \
  template double penalty<T>(double, double, std::int64_t, const T*);
LAMINA_INSTANTIATE(float)
LAMINA_INSTANTIATE(double)
#undef LAMINA_INSTANTIATE

}  // namespace lamina

LAMINA_OPTIM_DEFINE_RANGES(generic)
