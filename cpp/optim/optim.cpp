// Fused optimizer updates (see lamina/optim.hpp for the contract and the order of operations).
//
// Each optimizer is one flat loop over [i0, i1) that reads w, g and its slots once and writes
// w and the slots once (llm.c adamw style). Per element, in T:
//   g' = clip_value(((g + l1*sign(w) + 2*l2*w) * scale)   scale = grad_scale * clipnorm factor
//   w  = w - w * (weight_decay * lr)                       decoupled weight decay (Keras 3)
//   then the optimizer's rule.
// Options that Keras turns off with a zero (l1, l2, weight decay, clipvalue = +inf) are kept
// in the loop as exact identities (g + 0 + 0 == g, w - w*0 == w, min(max(g,-inf),inf) == g),
// so every loop stays branch-free and vectorizes; options that change which slots exist
// (momentum, centered, amsgrad, nesterov) are template parameters.
//
// Threads: the update is element-wise, so big buffers are split into contiguous blocks, one
// per thread; the reductions (clipnorm's norm, grad_sq_sum, penalty) sum fixed chunks of
// kOptimChunk elements in double, each chunk with 8 interleaved accumulators combined in a
// fixed order, and add the chunk partials in chunk order: bit-identical for any thread count.
#include "lamina/optim.hpp"

#include "lamina/runtime.hpp"

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

// ---- the per-element gradient and the loops ----------------------------------------------

template <class T>
struct Scalars {
  // gradient transform
  T l1, l2x2, scale, clip;  // clip = +inf when clipvalue is off
  T wd;                      // weight_decay * lr (0 when off)
  // optimizer
  T lr;
  T mom;                     // sgd / rmsprop momentum
  T rho, one_minus_rho;      // rmsprop
  T one_minus_b1, one_minus_b2, b2, eps;
  T alpha;                   // adam: lr * sqrt(1 - b2^t) / (1 - b1^t); adamax: lr / (1 - b1^t)
  T c_m, c_g, inv_bc2;       // nadam: u_{t+1}/(1-U_{t+1}), (1-u_t)/(1-U_t), 1/(1-b2^t)
};

template <class T>
inline T grad_prime(const Scalars<T>& k, T g, T w) {
  const T sign = static_cast<T>((w > T(0)) - (w < T(0)));
  T x = (g + k.l1 * sign + k.l2x2 * w) * k.scale;
  x = x < -k.clip ? -k.clip : x;
  x = x > k.clip ? k.clip : x;
  return x;
}

#define LAMINA_R __restrict

// SGD (Keras sgd.py). Without momentum: w -= g' * lr.
template <class T>
void sgd_plain(const Scalars<T>& k, std::int64_t i0, std::int64_t i1, T* LAMINA_R w,
               const T* LAMINA_R g) {
  for (std::int64_t i = i0; i < i1; ++i) {
    T wi = w[i];
    const T gi = grad_prime(k, g[i], wi);
    wi -= wi * k.wd;
    w[i] = wi - gi * k.lr;
  }
}

// SGD with momentum: m = m * momentum - g' * lr (velocity, slot 0);
// plain: w += m; nesterov: w += m * momentum - g' * lr (with the new m).
template <class T, bool kNesterov>
void sgd_momentum(const Scalars<T>& k, std::int64_t i0, std::int64_t i1, T* LAMINA_R w,
                  const T* LAMINA_R g, T* LAMINA_R m) {
  for (std::int64_t i = i0; i < i1; ++i) {
    T wi = w[i];
    const T gi = grad_prime(k, g[i], wi);
    wi -= wi * k.wd;
    const T mi = m[i] * k.mom - gi * k.lr;
    m[i] = mi;
    w[i] = kNesterov ? wi + (mi * k.mom - gi * k.lr) : wi + mi;
  }
}

// RMSprop (Keras rmsprop.py):
//   v = rho * v + (1 - rho) * g'^2                  (velocity, slot 0)
//   a = rho * a + (1 - rho) * g'                    (average gradient, if centered)
//   inc = lr * g' / sqrt(v - a^2 + eps)  (centered) or lr * g' / sqrt(v + eps)
//   mo = momentum * mo + inc; w -= mo               (if momentum > 0), else w -= inc
template <class T, bool kMomentum, bool kCentered>
void rmsprop(const Scalars<T>& k, std::int64_t i0, std::int64_t i1, T* LAMINA_R w,
             const T* LAMINA_R g, T* LAMINA_R v, T* LAMINA_R mo, T* LAMINA_R a) {
  for (std::int64_t i = i0; i < i1; ++i) {
    T wi = w[i];
    const T gi = grad_prime(k, g[i], wi);
    wi -= wi * k.wd;
    const T vi = k.rho * v[i] + k.one_minus_rho * (gi * gi);
    v[i] = vi;
    T den;
    if (kCentered) {
      const T ai = k.rho * a[i] + k.one_minus_rho * gi;
      a[i] = ai;
      den = vi - ai * ai + k.eps;
    } else {
      den = vi + k.eps;
    }
    const T inc = k.lr * gi / std::sqrt(den);
    if (kMomentum) {
      const T mi = k.mom * mo[i] + inc;
      mo[i] = mi;
      w[i] = wi - mi;
    } else {
      w[i] = wi - inc;
    }
  }
}

// Adam / AdamW (Keras adam.py; AdamW is Adam + decoupled weight decay):
//   m += (g' - m) * (1 - beta_1)                    (first moment, slot 0)
//   v += (g'^2 - v) * (1 - beta_2)                  (second moment, slot 1)
//   v_hat = max(v_hat, v); use v_hat for v          (amsgrad, slot 2)
//   w -= m * alpha / (sqrt(v) + eps),  alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
template <class T, bool kAmsgrad>
void adam(const Scalars<T>& k, std::int64_t i0, std::int64_t i1, T* LAMINA_R w,
          const T* LAMINA_R g, T* LAMINA_R m, T* LAMINA_R v, T* LAMINA_R vh) {
  for (std::int64_t i = i0; i < i1; ++i) {
    T wi = w[i];
    const T gi = grad_prime(k, g[i], wi);
    wi -= wi * k.wd;
    const T mi = m[i] + (gi - m[i]) * k.one_minus_b1;
    T vi = v[i] + (gi * gi - v[i]) * k.one_minus_b2;
    m[i] = mi;
    v[i] = vi;
    if (kAmsgrad) {
      const T hi = vh[i];
      vi = hi > vi ? hi : vi;
      vh[i] = vi;
    }
    w[i] = wi - mi * k.alpha / (std::sqrt(vi) + k.eps);
  }
}

// Adagrad (Keras adagrad.py):
//   acc += g'^2                                     (accumulator, slot 0; caller-initialised)
//   w -= lr * g' / sqrt(acc + eps)
template <class T>
void adagrad(const Scalars<T>& k, std::int64_t i0, std::int64_t i1, T* LAMINA_R w,
             const T* LAMINA_R g, T* LAMINA_R acc) {
  for (std::int64_t i = i0; i < i1; ++i) {
    T wi = w[i];
    const T gi = grad_prime(k, g[i], wi);
    wi -= wi * k.wd;
    const T ai = acc[i] + gi * gi;
    acc[i] = ai;
    w[i] = wi - k.lr * gi / std::sqrt(ai + k.eps);
  }
}

// Adamax (Keras adamax.py):
//   m += (g' - m) * (1 - beta_1)                    (first moment, slot 0)
//   u = max(beta_2 * u, |g'|)                       (infinity norm, slot 1)
//   w -= alpha * m / (u + eps),  alpha = lr / (1 - beta_1^t)
template <class T>
void adamax(const Scalars<T>& k, std::int64_t i0, std::int64_t i1, T* LAMINA_R w,
            const T* LAMINA_R g, T* LAMINA_R m, T* LAMINA_R u) {
  for (std::int64_t i = i0; i < i1; ++i) {
    T wi = w[i];
    const T gi = grad_prime(k, g[i], wi);
    wi -= wi * k.wd;
    const T mi = m[i] + (gi - m[i]) * k.one_minus_b1;
    const T bu = k.b2 * u[i];
    const T ag = gi < T(0) ? -gi : gi;
    const T ui = bu > ag ? bu : ag;
    m[i] = mi;
    u[i] = ui;
    w[i] = wi - k.alpha * mi / (ui + k.eps);
  }
}

// Nadam (Keras nadam.py, Dozat 2016 with the 0.96 momentum schedule):
//   m += (g' - m) * (1 - beta_1)                    (first moment, slot 0)
//   v += (g'^2 - v) * (1 - beta_2)                  (second moment, slot 1)
//   m_hat = u_{t+1} * m / (1 - U_{t+1}) + (1 - u_t) * g' / (1 - U_t)
//   v_hat = v / (1 - beta_2^t)
//   w -= m_hat * lr / (sqrt(v_hat) + eps)
template <class T>
void nadam(const Scalars<T>& k, std::int64_t i0, std::int64_t i1, T* LAMINA_R w,
           const T* LAMINA_R g, T* LAMINA_R m, T* LAMINA_R v) {
  for (std::int64_t i = i0; i < i1; ++i) {
    T wi = w[i];
    const T gi = grad_prime(k, g[i], wi);
    wi -= wi * k.wd;
    const T mi = m[i] + (gi - m[i]) * k.one_minus_b1;
    const T vi = v[i] + (gi * gi - v[i]) * k.one_minus_b2;
    m[i] = mi;
    v[i] = vi;
    const T mhat = k.c_m * mi + k.c_g * gi;
    w[i] = wi - mhat * k.lr / (std::sqrt(vi * k.inv_bc2) + k.eps);
  }
}

// Runs the loop `p` selects over [i0, i1).
template <class T>
void update_range(const OptimParams& p, const Scalars<T>& k, std::int64_t i0, std::int64_t i1,
                  T* w, const T* g, T* s0, T* s1, T* s2) {
  switch (p.kind) {
    case Optimizer::sgd:
      if (p.momentum == 0.0) sgd_plain(k, i0, i1, w, g);
      else if (p.nesterov) sgd_momentum<T, true>(k, i0, i1, w, g, s0);
      else sgd_momentum<T, false>(k, i0, i1, w, g, s0);
      return;
    case Optimizer::rmsprop: {
      const bool mom = p.momentum > 0.0;
      T* mo = mom ? s1 : nullptr;
      T* a = p.centered ? (mom ? s2 : s1) : nullptr;
      if (mom && p.centered) rmsprop<T, true, true>(k, i0, i1, w, g, s0, mo, a);
      else if (mom) rmsprop<T, true, false>(k, i0, i1, w, g, s0, mo, a);
      else if (p.centered) rmsprop<T, false, true>(k, i0, i1, w, g, s0, mo, a);
      else rmsprop<T, false, false>(k, i0, i1, w, g, s0, mo, a);
      return;
    }
    case Optimizer::adam:
    case Optimizer::adamw:
      if (p.amsgrad) adam<T, true>(k, i0, i1, w, g, s0, s1, s2);
      else adam<T, false>(k, i0, i1, w, g, s0, s1, nullptr);
      return;
    case Optimizer::adagrad: adagrad(k, i0, i1, w, g, s0); return;
    case Optimizer::adamax: adamax(k, i0, i1, w, g, s0, s1); return;
    case Optimizer::nadam: nadam(k, i0, i1, w, g, s0, s1); return;
  }
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

  Scalars<T> k{};
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

  const int threads = num_threads();
  if (n < kParallelMin || threads == 1) {
    update_range(p, k, 0, n, w, g, s0, s1, s2);
    return;
  }
  // One contiguous, cache-line aligned block per thread.
  const std::int64_t per = ((n + threads - 1) / threads + kBlockAlign - 1) / kBlockAlign * kBlockAlign;
  const std::int64_t n_blocks = (n + per - 1) / per;
  parallel_for(n_blocks, [&](std::int64_t b) {
    const std::int64_t i0 = b * per;
    const std::int64_t i1 = i0 + per < n ? i0 + per : n;
    update_range(p, k, i0, i1, w, g, s0, s1, s2);
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
