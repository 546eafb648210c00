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
#include <string>
#include <vector>

namespace lamina {

namespace {

const struct {
  const char* name;
  Optimizer kind;
} kOptimizerNames[] = {{"sgd", Optimizer::sgd},         {"rmsprop", Optimizer::rmsprop},
                       {"adam", Optimizer::adam},       {"adamw", Optimizer::adamw},
                       {"adagrad", Optimizer::adagrad}, {"adamax", Optimizer::adamax},
                       {"nadam", Optimizer::nadam},     {"adadelta", Optimizer::adadelta},
                       {"lion", Optimizer::lion}};

}  // namespace

bool parse_optimizer(const char* name, Optimizer* out) {
  if (name == nullptr) return false;
  for (const auto& e : kOptimizerNames) {
    if (std::strcmp(name, e.name) == 0) {
      *out = e.kind;
      return true;
    }
  }
  return false;
}

const char* optimizer_names() {
  static const std::string s = [] {
    std::string t;
    for (const auto& e : kOptimizerNames) t += (t.empty() ? "" : ", ") + std::string(e.name);
    return t;
  }();
  return s.c_str();
}

int optim_num_slots(const OptimParams& p) {
  switch (p.kind) {
    case Optimizer::sgd: return p.momentum != 0.0 ? 1 : 0;
    case Optimizer::rmsprop: return 1 + (p.momentum > 0.0 ? 1 : 0) + (p.centered ? 1 : 0);
    case Optimizer::adam:
    case Optimizer::adamw: return p.amsgrad ? 3 : 2;
    case Optimizer::adagrad: return 1;
    case Optimizer::adamax:
    case Optimizer::nadam:
    case Optimizer::adadelta: return 2;
    case Optimizer::lion: return 1;
  }
  return 0;
}

double nadam_u_product_before(double beta_1, std::int64_t iteration) {
  // The same multiplications a carried product sees, step by step, for the first 2^20 steps
  // (or until it underflows to 0, where it stays); beyond that the schedule factor is exactly
  // 1.0 in double and the rest is beta_1^k by pow (not bit-identical to k multiplications, but
  // no caller carries a product that far without `nadam_u_product`).
  constexpr std::int64_t kExact = std::int64_t{1} << 20;
  double u = 1.0;
  std::int64_t i = 1;
  for (; i < iteration && i <= kExact && u != 0.0; ++i)
    u = u * beta_1 * (1.0 - 0.5 * std::pow(0.96, static_cast<double>(i)));
  if (i < iteration && u != 0.0) u *= std::pow(beta_1, static_cast<double>(iteration - i));
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

// ---- the per-ISA table -----------------------------------------------------------------

using optim_detail::Kernel;

struct Ranges {
  optim_detail::RangeF32 f32;
  optim_detail::RangeF64 f64;
  optim_detail::ReduceF32 reduce_f32;
  optim_detail::ReduceF64 reduce_f64;
};

const Ranges& ranges_for(Isa isa) {
  using namespace optim_detail;
  static const Ranges kTable[kNumIsa] = {
      {range_generic_f32, range_generic_f64, reduce_generic_f32, reduce_generic_f64},
#if defined(LAMINA_X86)
      {range_avx2_f32, range_avx2_f64, reduce_avx2_f32, reduce_avx2_f64},
      {range_avx512_f32, range_avx512_f64, reduce_avx512_f32, reduce_avx512_f64},
      {range_avx512_f32, range_avx512_f64, reduce_avx512_f32, reduce_avx512_f64},  // avx512_bf16
#else
      {range_generic_f32, range_generic_f64, reduce_generic_f32, reduce_generic_f64},
      {range_generic_f32, range_generic_f64, reduce_generic_f32, reduce_generic_f64},
      {range_generic_f32, range_generic_f64, reduce_generic_f32, reduce_generic_f64},
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
inline void reduce(const Ranges& r, int mode, std::int64_t i0, std::int64_t i1, const float* g,
                   const float* w, double l1, double l2x2, double* out) {
  r.reduce_f32(mode, i0, i1, g, w, l1, l2x2, out);
}
inline void reduce(const Ranges& r, int mode, std::int64_t i0, std::int64_t i1, const double* g,
                   const double* w, double l1, double l2x2, double* out) {
  r.reduce_f64(mode, i0, i1, g, w, l1, l2x2, out);
}

// ---- fixed-order reductions ------------------------------------------------------------

// Sums of `mode` (optim_detail::Reduce) over [0, n): fixed chunks of kOptimChunk elements
// (in parallel for big n), their partials added in chunk order. out[0], out[1] as the mode says.
template <class T>
void fixed_sums(int mode, std::int64_t n, const T* g, const T* w, double l1, double l2,
                double out[2]) {
  out[0] = out[1] = 0.0;
  if (n <= 0) return;
  const Ranges& r = ranges_for(active_isa());
  const double l2x2 = 2.0 * l2;
  const std::int64_t n_chunks = (n + kOptimChunk - 1) / kOptimChunk;
  auto chunk = [&](std::int64_t c, double* part) {
    const std::int64_t i0 = c * kOptimChunk;
    const std::int64_t i1 = i0 + kOptimChunk < n ? i0 + kOptimChunk : n;
    reduce(r, mode, i0, i1, g, w, l1, l2x2, part);
  };
  if (n < kParallelMin || num_threads() == 1) {
    for (std::int64_t c = 0; c < n_chunks; ++c) {
      double part[2];
      chunk(c, part);
      out[0] += part[0];
      out[1] += part[1];
    }
    return;
  }
  double small[2 * 64];
  std::vector<double> big;
  double* parts = small;
  if (n_chunks > 64) {
    big.resize(static_cast<std::size_t>(2 * n_chunks));
    parts = big.data();
  }
  // Two pointers captured: std::function stores the task inline (no allocation).
  parallel_for(n_chunks, [&chunk, parts](std::int64_t c) { chunk(c, parts + 2 * c); });
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    out[0] += parts[2 * c];
    out[1] += parts[2 * c + 1];
  }
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
    case Optimizer::adadelta: return kAdadelta;
    case Optimizer::lion: return kLion;
  }
  return kSgd;
}

template <class T>
double penalised_sq_sum(std::int64_t n, const T* g, const T* w, double l1, double l2) {
  double out[2];
  const bool pen = l1 != 0.0 || l2 != 0.0;  // without a penalty the plain sum (a third cheaper)
  fixed_sums(pen ? optim_detail::kSumSqPenalty : optim_detail::kSumSq, n, g, w, l1, l2, out);
  return out[0];
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
  k.b1 = static_cast<T>(p.beta_1);
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
  const std::int64_t per_thread = (n + threads - 1) / threads;
  const std::int64_t per = (per_thread + kBlockAlign - 1) / kBlockAlign * kBlockAlign;
  const std::int64_t n_blocks = (n + per - 1) / per;
  // The task captures one pointer, so std::function stores it inline: no allocation per call.
  const struct Job {
    const Ranges& r;
    const Kernel<T>& k;
    std::int64_t n, per;
    T *w, *s0, *s1, *s2;
    const T* g;
  } job{r, k, n, per, w, s0, s1, s2, g};
  parallel_for(n_blocks, [j = &job](std::int64_t b) {
    const std::int64_t i0 = b * j->per;
    const std::int64_t i1 = i0 + j->per < j->n ? i0 + j->per : j->n;
    run(j->r, j->k, i0, i1, j->w, j->g, j->s0, j->s1, j->s2);
  });
}

template <class T>
double grad_sq_sum(std::int64_t n, const T* g) {
  double out[2];
  fixed_sums(optim_detail::kSumSq, n, g, g, 0.0, 0.0, out);
  return out[0];
}

template <class T>
double grad_sq_sum(std::int64_t n, const T* g, const T* w, double l1, double l2) {
  return penalised_sq_sum(n, g, w, l1, l2);
}

template <class T>
double penalty(double l1, double l2, std::int64_t n, const T* w) {
  if (l1 == 0.0 && l2 == 0.0) return 0.0;
  double out[2];
  fixed_sums(optim_detail::kSumAbsSq, n, w, w, 0.0, 0.0, out);
  return (l1 != 0.0 ? l1 * out[0] : 0.0) + (l2 != 0.0 ? l2 * out[1] : 0.0);
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
