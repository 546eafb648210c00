// Losses: value and gradient in one pass over (m, n) predictions.
//
// Contract: cpp/include/lamina/losses.hpp (Keras 3 semantics). Shapes: pred (m, n) row stride
// ldp; y (m, n) row stride ldy or labels (m,); sw (m,) or nullptr; grad (m, n) row stride ldg
// or nullptr. Returns sum_i sw_i l_i in double; grad = scale * sw_i * d l_i / d pred.
//
// Per-sample losses (all arithmetic in double, the gradient rounded to T at the end):
// - mse:   mean_j (p - y)^2                     d = 2 (p - y) / n
// - mae:   mean_j |p - y|                       d = sign(p - y) / n   (sign(0) = 0)
// - huber: mean_j (|e| <= delta ? e^2/2 : delta |e| - delta^2/2), e = p - y
//                                               d = clip(e, -delta, delta) / n
// - binary_crossentropy, mean over j:
//     probabilities: c = clip(p, eps, 1 - eps), l = -(y log c + (1 - y) log(1 - c)),
//                    d = (c - y) / (c (1 - c)) / n inside the clip range, 0 outside
//     from_logits:   l = max(x, 0) - x y + log1p(exp(-|x|)), d = (sigmoid(x) - y) / n
//                    (the stable form of the TF/JAX/torch backends; no clipping)
// - categorical_crossentropy, summed over j (Keras 3: normalise, then clip, then log):
//     probabilities: S = sum_j p_j, q = p / S, c = clip(q), l = -sum_j y_j log c_j,
//                    d_k = (g_k + sum_{j inside} y_j) / S, g_k = inside_k ? -y_k / q_k : 0
//     from_logits:   l = sum_j y_j (lse(x) - x_j), d_k = softmax(x)_k sum_j y_j - y_k
// - sparse_categorical_crossentropy: the categorical one with y = one_hot(label).
// - label_smoothing ls (binary / categorical): y -> y (1 - ls) + ls / K, K = 2 / n.
// - log_cosh: mean_j e + softplus(-2 e) - log 2, e = p - y     d = tanh(e) / n
// - kl_divergence: sum_j cy log(cy / cp), c = clip(., eps, 1)  d = -cy / cp inside, else 0
// - poisson: mean_j p - y log(p + eps)                         d = (1 - y / (p + eps)) / n
// - hinge / squared_hinge: h = 1 - y p (y in {0,1} over the whole batch -> 2 y - 1),
//     mean_j max(h, 0) (squared); the gradient passes where h >= 0 (TensorFlow's tie rule)
// - categorical_hinge: max(max_j (1 - y_j) p_j - sum_j y_j p_j + 1, 0), ties of the max
//     share its gradient
// - cosine_similarity: -sum_j a_j b_j, a = y / |y|, b = p / |p|, |x| = sqrt(max(x.x, 1e-12))
// - msle: mean_j (log1p(max(p, eps)) - log1p(max(y, eps)))^2
//                      d = 2 (lp - ly) / (max(p, eps) + 1) / n where p >= eps, else 0
// - mape: 100 mean_j |y - p| / max(|y|, eps)  d = 100 sign(p - y) / max(|y|, eps) / n
// eps = T(1e-7) and 1 - eps rounded to T, as Keras clips in the prediction's dtype.
//
// grad may alias pred (same rows, same ld): every row reads pred[i, j] before writing grad[i, j].
//
// Reduction order: rows are cut into fixed blocks (their number depends on m and n only),
// each block sums its rows in order, then the block sums are added in order: the result is
// the same for every thread count.
#include "lamina/losses.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "lamina/runtime.hpp"
#include "name_table.hpp"

namespace lamina {

namespace {

constexpr ops_detail::NamedValue<Loss> kLossNames[] = {
    {"mean_squared_error", Loss::mean_squared_error},
    {"mse", Loss::mean_squared_error},
    {"mean_absolute_error", Loss::mean_absolute_error},
    {"mae", Loss::mean_absolute_error},
    {"huber", Loss::huber},
    {"binary_crossentropy", Loss::binary_crossentropy},
    {"categorical_crossentropy", Loss::categorical_crossentropy},
    {"sparse_categorical_crossentropy", Loss::sparse_categorical_crossentropy},
    {"log_cosh", Loss::log_cosh},
    {"logcosh", Loss::log_cosh},
    {"kl_divergence", Loss::kl_divergence},
    {"kld", Loss::kl_divergence},
    {"kullback_leibler_divergence", Loss::kl_divergence},
    {"poisson", Loss::poisson},
    {"hinge", Loss::hinge},
    {"squared_hinge", Loss::squared_hinge},
    {"categorical_hinge", Loss::categorical_hinge},
    {"cosine_similarity", Loss::cosine_similarity},
    {"mean_squared_logarithmic_error", Loss::mean_squared_logarithmic_error},
    {"msle", Loss::mean_squared_logarithmic_error},
    {"mean_absolute_percentage_error", Loss::mean_absolute_percentage_error},
    {"mape", Loss::mean_absolute_percentage_error},
};

template <class T>
struct Clip {
  double lo = static_cast<double>(static_cast<T>(1e-7));
  double hi = static_cast<double>(static_cast<T>(1.0 - 1e-7));
};

inline double sigmoid_d(double x) {
  const double e = std::exp(-std::fabs(x));
  const double r = 1.0 / (1.0 + e);
  return x >= 0.0 ? r : e * r;
}

// Per-row kernels: return l_i; write g * d l_i / d pred_ij to gr when gr != nullptr.
// Hinge labels: y in {0, 1} over the whole batch are mapped to -1 / +1 (Keras 3).
template <class T>
bool all_binary(std::int64_t m, std::int64_t n, const T* y, std::int64_t ldy) {
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      if (y[i * ldy + j] != T(0) && y[i * ldy + j] != T(1)) return false;
  return true;
}

template <class T>
double row_dense(const LossParams& p, std::int64_t n, const T* pr, const T* yr, double g,
                 T* gr, bool binary = false) {
  const double inv_n = 1.0 / static_cast<double>(n);
  const double ls = p.label_smoothing;
  // Smoothed targets: y (1 - ls) + ls / K (K = n classes, 2 for binary crossentropy).
  const double ls_add = ls * (p.kind == Loss::binary_crossentropy ? 0.5 : inv_n);
  auto ys = [&](std::int64_t j) { return static_cast<double>(yr[j]) * (1.0 - ls) + ls_add; };
  double l = 0.0;
  switch (p.kind) {
    case Loss::mean_squared_error:
      for (std::int64_t j = 0; j < n; ++j) {
        const double e = static_cast<double>(pr[j]) - static_cast<double>(yr[j]);
        l += e * e;
        if (gr) gr[j] = static_cast<T>(g * 2.0 * e * inv_n);
      }
      return l * inv_n;
    case Loss::mean_absolute_error:
      for (std::int64_t j = 0; j < n; ++j) {
        const double e = static_cast<double>(pr[j]) - static_cast<double>(yr[j]);
        l += std::fabs(e);
        if (gr) gr[j] = static_cast<T>(g * (e > 0.0 ? inv_n : (e < 0.0 ? -inv_n : 0.0)));
      }
      return l * inv_n;
    case Loss::huber: {
      const double d = p.delta;
      for (std::int64_t j = 0; j < n; ++j) {
        const double e = static_cast<double>(pr[j]) - static_cast<double>(yr[j]);
        const double a = std::fabs(e);
        l += a <= d ? 0.5 * e * e : d * a - 0.5 * d * d;
        if (gr) gr[j] = static_cast<T>(g * (a <= d ? e : (e > 0.0 ? d : -d)) * inv_n);
      }
      return l * inv_n;
    }
    case Loss::binary_crossentropy:
      if (p.from_logits) {
        for (std::int64_t j = 0; j < n; ++j) {
          const double x = pr[j], z = ys(j);
          l += (x > 0.0 ? x : 0.0) - x * z + std::log1p(std::exp(-std::fabs(x)));
          if (gr) gr[j] = static_cast<T>(g * (sigmoid_d(x) - z) * inv_n);
        }
      } else {
        const Clip<T> c;
        for (std::int64_t j = 0; j < n; ++j) {
          const double q = pr[j], z = ys(j);
          const double cq = q < c.lo ? c.lo : (q > c.hi ? c.hi : q);
          l -= z * std::log(cq) + (1.0 - z) * std::log(1.0 - cq);
          if (gr) {
            const bool inside = q >= c.lo && q <= c.hi;
            gr[j] = static_cast<T>(inside ? g * (cq - z) / (cq * (1.0 - cq)) * inv_n : 0.0);
          }
        }
      }
      return l * inv_n;
    case Loss::categorical_crossentropy:
      if (p.from_logits) {
        double m = pr[0];
        for (std::int64_t j = 1; j < n; ++j) m = pr[j] > m ? static_cast<double>(pr[j]) : m;
        double s = 0.0, ysum = 0.0, yx = 0.0;
        for (std::int64_t j = 0; j < n; ++j) {
          const double x = pr[j];  // read before gr[j] is written (grad may alias pred)
          const double e = std::exp(x - m);
          s += e;
          ysum += ys(j);
          yx += ys(j) * x;
          if (gr) gr[j] = static_cast<T>(e);  // kept for the gradient: one exp per element
        }
        const double lse = m + std::log(s);
        l = ysum * lse - yx;
        if (gr) {
          const double inv_s = 1.0 / s;
          for (std::int64_t j = 0; j < n; ++j)
            gr[j] = static_cast<T>(g * (static_cast<double>(gr[j]) * inv_s * ysum - ys(j)));
        }
      } else {
        const Clip<T> c;
        double s = 0.0;
        for (std::int64_t j = 0; j < n; ++j) s += pr[j];
        const double inv_s = 1.0 / s;
        double y_inside = 0.0;
        for (std::int64_t j = 0; j < n; ++j) {
          const double q = pr[j] * inv_s;
          const double cq = q < c.lo ? c.lo : (q > c.hi ? c.hi : q);
          if (ys(j) != 0.0) l -= ys(j) * std::log(cq);
          if (q >= c.lo && q <= c.hi) y_inside += ys(j);
        }
        if (gr) {
          for (std::int64_t j = 0; j < n; ++j) {
            const double q = pr[j] * inv_s;
            const bool inside = q >= c.lo && q <= c.hi;
            const double gk = inside ? -ys(j) / q : 0.0;
            gr[j] = static_cast<T>(g * (gk + y_inside) * inv_s);
          }
        }
      }
      return l;
    case Loss::sparse_categorical_crossentropy:
      break;  // dense targets are not accepted for it (the caller one-hots or uses _sparse)
    case Loss::mean_squared_logarithmic_error: {
      const double eps = Clip<T>().lo;  // Keras's epsilon in the prediction's dtype
      for (std::int64_t j = 0; j < n; ++j) {
        const double q = pr[j], z = yr[j];
        const double cq = q < eps ? eps : q;
        const double e = std::log1p(cq) - std::log1p(z < eps ? eps : z);
        l += e * e;
        if (gr) gr[j] = static_cast<T>(q >= eps ? g * 2.0 * e / (cq + 1.0) * inv_n : 0.0);
      }
      return l * inv_n;
    }
    case Loss::mean_absolute_percentage_error: {
      const double eps = Clip<T>().lo;
      for (std::int64_t j = 0; j < n; ++j) {
        const double e = static_cast<double>(pr[j]) - static_cast<double>(yr[j]);
        const double a = std::fabs(static_cast<double>(yr[j]));
        const double den = a < eps ? eps : a;
        l += std::fabs(e) / den;
        if (gr) gr[j] = static_cast<T>(e > 0.0 ? g * 100.0 / den * inv_n
                                               : (e < 0.0 ? -g * 100.0 / den * inv_n : 0.0));
      }
      return 100.0 * l * inv_n;
    }
    case Loss::log_cosh:
      for (std::int64_t j = 0; j < n; ++j) {
        const double e = static_cast<double>(pr[j]) - static_cast<double>(yr[j]);
        // log(cosh(e)) = e + softplus(-2 e) - log 2, stable for large |e|
        const double a = -2.0 * e;
        l += e + (a > 0.0 ? a : 0.0) + std::log1p(std::exp(-std::fabs(a))) - std::log(2.0);
        if (gr) gr[j] = static_cast<T>(g * std::tanh(e) * inv_n);
      }
      return l * inv_n;
    case Loss::kl_divergence: {
      const Clip<T> c;
      for (std::int64_t j = 0; j < n; ++j) {
        const double q = pr[j], z = yr[j];
        const double cz = z < c.lo ? c.lo : (z > 1.0 ? 1.0 : z);
        const double cq = q < c.lo ? c.lo : (q > 1.0 ? 1.0 : q);
        l += cz * std::log(cz / cq);
        if (gr) gr[j] = static_cast<T>(q >= c.lo && q <= 1.0 ? -g * cz / cq : 0.0);
      }
      return l;
    }
    case Loss::poisson: {
      const double eps = 1e-7;
      for (std::int64_t j = 0; j < n; ++j) {
        const double q = pr[j], z = yr[j];
        l += q - z * std::log(q + eps);
        if (gr) gr[j] = static_cast<T>(g * (1.0 - z / (q + eps)) * inv_n);
      }
      return l * inv_n;
    }
    case Loss::hinge:
    case Loss::squared_hinge: {
      const bool sq = p.kind == Loss::squared_hinge;
      for (std::int64_t j = 0; j < n; ++j) {
        const double z = binary ? 2.0 * static_cast<double>(yr[j]) - 1.0 : yr[j];
        const double h = 1.0 - z * static_cast<double>(pr[j]);
        const double hp = h > 0.0 ? h : 0.0;
        l += sq ? hp * hp : hp;
        // max(h, 0) passes its gradient where h >= 0 (TensorFlow's rule at the tie)
        if (gr) gr[j] = static_cast<T>(h >= 0.0 ? g * (sq ? -2.0 * hp * z : -z) * inv_n : 0.0);
      }
      return l * inv_n;
    }
    case Loss::categorical_hinge: {
      double pos = 0.0, neg = -std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < n; ++j) {
        const double z = yr[j], q = pr[j];
        pos += z * q;
        const double v = (1.0 - z) * q;
        neg = v > neg ? v : neg;
      }
      const double h = neg - pos + 1.0;
      if (gr) {
        // d/dp_k = -y_k + (1 - y_k) [k attains the max] / (number attaining it) where h >= 0
        std::int64_t ties = 0;
        for (std::int64_t j = 0; j < n; ++j)
          if ((1.0 - static_cast<double>(yr[j])) * static_cast<double>(pr[j]) == neg) ++ties;
        for (std::int64_t j = 0; j < n; ++j) {
          const double z = yr[j];
          const bool top = (1.0 - z) * static_cast<double>(pr[j]) == neg;
          const double d = -z + (top ? (1.0 - z) / static_cast<double>(ties) : 0.0);
          gr[j] = static_cast<T>(h >= 0.0 ? g * d : 0.0);
        }
      }
      return h > 0.0 ? h : 0.0;
    }
    case Loss::cosine_similarity: {
      double yy = 0.0, pp = 0.0, yp = 0.0;
      for (std::int64_t j = 0; j < n; ++j) {
        const double z = yr[j], q = pr[j];
        yy += z * z;
        pp += q * q;
        yp += z * q;
      }
      const double ry = 1.0 / std::sqrt(yy > 1e-12 ? yy : 1e-12);
      const double rp = 1.0 / std::sqrt(pp > 1e-12 ? pp : 1e-12);
      const double cos = yp * ry * rp;
      if (gr) {
        for (std::int64_t j = 0; j < n; ++j) {
          // l = -sum_j a_j b_j, a = y ry, b = p rp; rp depends on p only while pp > 1e-12
          const double a = static_cast<double>(yr[j]) * ry;
          const double b = static_cast<double>(pr[j]) * rp;
          const double d = pp > 1e-12 ? -(a - cos * b) * rp : -a * rp;
          gr[j] = static_cast<T>(g * d);
        }
      }
      return -cos;
    }
  }
  return 0.0;
}

template <class T>
double row_sparse(const LossParams& p, std::int64_t n, const T* pr, std::int64_t t, double g,
                  T* gr) {
  if (p.from_logits) {
    double m = pr[0];
    for (std::int64_t j = 1; j < n; ++j) m = pr[j] > m ? static_cast<double>(pr[j]) : m;
    const double xt = pr[t];  // read before gr is written (grad may alias pred)
    double s = 0.0;
    for (std::int64_t j = 0; j < n; ++j) {
      const double e = std::exp(static_cast<double>(pr[j]) - m);
      if (gr) gr[j] = static_cast<T>(e);  // kept for the gradient: one exp per element
      s += e;
    }
    const double l = m + std::log(s) - xt;
    if (gr) {
      const double inv_s = 1.0 / s;
      for (std::int64_t j = 0; j < n; ++j)
        gr[j] = static_cast<T>(g * (static_cast<double>(gr[j]) * inv_s - (j == t ? 1.0 : 0.0)));
    }
    return l;
  }
  const Clip<T> c;
  double s = 0.0;
  for (std::int64_t j = 0; j < n; ++j) s += pr[j];
  const double inv_s = 1.0 / s;
  const double q = pr[t] * inv_s;
  const double cq = q < c.lo ? c.lo : (q > c.hi ? c.hi : q);
  const bool inside = q >= c.lo && q <= c.hi;
  if (gr) {
    const double y_inside = inside ? 1.0 : 0.0;
    for (std::int64_t j = 0; j < n; ++j) {
      const double gk = (j == t && inside) ? -1.0 / q : 0.0;
      gr[j] = static_cast<T>(g * (gk + y_inside) * inv_s);
    }
  }
  return -std::log(cq);
}

// lse(x) of a row from its logits and its softmax (see softmax_crossentropy in losses.hpp);
// NaN when a probability is NaN (the max comparisons alone would skip it).
template <class T>
double row_lse_from_probs(std::int64_t n, const T* x, const T* q) {
  double mx = x[0], qmax = q[0], qsum = 0.0;
  for (std::int64_t j = 0; j < n; ++j) {
    const double xj = x[j], qj = q[j];
    mx = xj > mx ? xj : mx;
    qmax = qj > qmax ? qj : qmax;
    qsum += qj;
  }
  if (std::isnan(qsum)) return qsum;
  return mx - std::log(qmax);
}

// Sums per-row values over fixed row blocks: nb depends on (m, n) only.
constexpr int kMaxBlocks = 64;
constexpr std::int64_t kBlockElems = 1 << 16;

template <class RowFn>
double reduce_rows(std::int64_t m, std::int64_t n, RowFn&& row) {
  std::int64_t nb = (m * n + kBlockElems - 1) / kBlockElems;
  if (nb > m) nb = m;
  if (nb > kMaxBlocks) nb = kMaxBlocks;
  if (nb <= 1) {
    double s = 0.0;
    for (std::int64_t i = 0; i < m; ++i) s += row(i);
    return s;
  }
  double part[kMaxBlocks];
  parallel_for(nb, [&](std::int64_t b) {
    double s = 0.0;
    for (std::int64_t i = m * b / nb; i < m * (b + 1) / nb; ++i) s += row(i);
    part[b] = s;
  });
  double s = 0.0;
  for (std::int64_t b = 0; b < nb; ++b) s += part[b];
  return s;
}

}  // namespace

bool parse_loss(const char* name, Loss* out) {
  return ops_detail::parse_name(kLossNames, name, out);
}

const char* loss_name(Loss l) { return ops_detail::name_of(kLossNames, l); }

const char* loss_names() {
  static const std::string s = ops_detail::names_text(kLossNames);
  return s.c_str();
}

template <class T>
double loss_forward_backward(const LossParams& p, std::int64_t m, std::int64_t n, const T* pred,
                             std::int64_t ldp, const T* y, std::int64_t ldy, const T* sw,
                             double scale, T* grad, std::int64_t ldg) {
  if (p.kind == Loss::sparse_categorical_crossentropy)
    throw std::invalid_argument(
        "sparse_categorical_crossentropy takes integer labels: use loss_forward_backward_sparse");
  if (m <= 0 || n <= 0) return 0.0;
  const bool binary = (p.kind == Loss::hinge || p.kind == Loss::squared_hinge) &&
                      all_binary<T>(m, n, y, ldy);
  return reduce_rows(m, n, [&](std::int64_t i) {
    const double w = sw ? static_cast<double>(sw[i]) : 1.0;
    const double l = row_dense<T>(p, n, pred + i * ldp, y + i * ldy, scale * w,
                                  grad ? grad + i * ldg : nullptr, binary);
    return w * l;
  });
}

template <class T, class L>
double loss_forward_backward_sparse(const LossParams& p, std::int64_t m, std::int64_t n,
                                    const T* pred, std::int64_t ldp, const L* labels,
                                    const T* sw, double scale, T* grad, std::int64_t ldg) {
  if (p.kind != Loss::sparse_categorical_crossentropy &&
      p.kind != Loss::categorical_crossentropy)
    throw std::invalid_argument(
        std::string("integer labels need a categorical crossentropy, got ") + loss_name(p.kind));
  if (m <= 0 || n <= 0) return 0.0;
  return reduce_rows(m, n, [&](std::int64_t i) {
    const double w = sw ? static_cast<double>(sw[i]) : 1.0;
    const double l = row_sparse<T>(p, n, pred + i * ldp, static_cast<std::int64_t>(labels[i]),
                                   scale * w, grad ? grad + i * ldg : nullptr);
    return w * l;
  });
}

template <class T>
double softmax_crossentropy(std::int64_t m, std::int64_t n, const T* x, std::int64_t ldx,
                            const T* probs, std::int64_t ldq, const T* y, std::int64_t ldy,
                            const T* sw, double scale, T* grad, std::int64_t ldg,
                            double ls) {
  if (m <= 0 || n <= 0) return 0.0;
  const double ls_add = ls / static_cast<double>(n);
  return reduce_rows(m, n, [&](std::int64_t i) {
    const T* xr = x + i * ldx;
    const T* qr = probs + i * ldq;
    const T* yr = y + i * ldy;
    auto ys = [&](std::int64_t j) { return static_cast<double>(yr[j]) * (1.0 - ls) + ls_add; };
    const double w = sw ? static_cast<double>(sw[i]) : 1.0;
    double sy = 0.0, syx = 0.0;
    for (std::int64_t j = 0; j < n; ++j) {
      sy += ys(j);
      syx += ys(j) * static_cast<double>(xr[j]);
    }
    const double l = sy * row_lse_from_probs(n, xr, qr) - syx;
    if (grad) {
      T* gr = grad + i * ldg;
      const double g = scale * w;
      for (std::int64_t j = 0; j < n; ++j)
        gr[j] = static_cast<T>(g * (static_cast<double>(qr[j]) * sy - ys(j)));
    }
    return w * l;
  });
}

template <class T, class L>
double softmax_crossentropy_sparse(std::int64_t m, std::int64_t n, const T* x, std::int64_t ldx,
                                   const T* probs, std::int64_t ldq, const L* labels,
                                   const T* sw, double scale, T* grad, std::int64_t ldg) {
  if (m <= 0 || n <= 0) return 0.0;
  return reduce_rows(m, n, [&](std::int64_t i) {
    const T* xr = x + i * ldx;
    const T* qr = probs + i * ldq;
    const std::int64_t t = static_cast<std::int64_t>(labels[i]);
    const double w = sw ? static_cast<double>(sw[i]) : 1.0;
    const double l = row_lse_from_probs(n, xr, qr) - static_cast<double>(xr[t]);
    if (grad) {
      T* gr = grad + i * ldg;
      const double g = scale * w;
      for (std::int64_t j = 0; j < n; ++j)
        gr[j] = static_cast<T>(g * (static_cast<double>(qr[j]) - (j == t ? 1.0 : 0.0)));
    }
    return w * l;
  });
}

template double softmax_crossentropy<float>(std::int64_t, std::int64_t, const float*,
                                            std::int64_t, const float*, std::int64_t,
                                            const float*, std::int64_t, const float*, double,
                                            float*, std::int64_t, double);
template double softmax_crossentropy<double>(std::int64_t, std::int64_t, const double*,
                                             std::int64_t, const double*, std::int64_t,
                                             const double*, std::int64_t, const double*, double,
                                             double*, std::int64_t, double);
template double softmax_crossentropy_sparse<float, std::int64_t>(
    std::int64_t, std::int64_t, const float*, std::int64_t, const float*, std::int64_t,
    const std::int64_t*, const float*, double, float*, std::int64_t);
template double softmax_crossentropy_sparse<double, std::int64_t>(
    std::int64_t, std::int64_t, const double*, std::int64_t, const double*, std::int64_t,
    const std::int64_t*, const double*, double, double*, std::int64_t);

template double loss_forward_backward<float>(const LossParams&, std::int64_t, std::int64_t,
                                             const float*, std::int64_t, const float*,
                                             std::int64_t, const float*, double, float*,
                                             std::int64_t);
template double loss_forward_backward<double>(const LossParams&, std::int64_t, std::int64_t,
                                              const double*, std::int64_t, const double*,
                                              std::int64_t, const double*, double, double*,
                                              std::int64_t);
#define LAMINA_INSTANTIATE_SPARSE(T, L)                                                       \
  template double loss_forward_backward_sparse<T, L>(const LossParams&, std::int64_t,        \
                                                     std::int64_t, const T*, std::int64_t,   \
                                                     const L*, const T*, double, T*,         \
                                                     std::int64_t);
LAMINA_INSTANTIATE_SPARSE(float, std::int32_t)
LAMINA_INSTANTIATE_SPARSE(float, std::int64_t)
LAMINA_INSTANTIATE_SPARSE(double, std::int32_t)
LAMINA_INSTANTIATE_SPARSE(double, std::int64_t)
#undef LAMINA_INSTANTIATE_SPARSE

}  // namespace lamina
