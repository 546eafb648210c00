// BatchNormalization (Keras 3's layers.BatchNormalization, axis=-1 on (batch, features)):
//   attributes: epsilon (> 0), momentum in [0, 1], training (whether the layer uses batch
//               statistics in training mode: Keras's `training and layer.trainable`; false
//               for a frozen layer, which then normalises with its moving statistics in fit
//               as well), scale (has gamma), center (has beta)
//   parameters: gamma (n,) when scale, then beta (n,) when center
//   state     : moving_mean (n,), moving_variance (n,), updated in place by train_step
//   X and Y (m, n) row-major; per-feature statistics over the m rows.
// forward, batch statistics (training mode):
//   mean_j = sum_i x_ij / m, var_j = sum_i (x_ij - mean_j)^2 / m (biased; one pass shifted
//   by the first row, double accumulators, rows in order: thread-count independent),
//   inv_j = 1 / sqrt(var_j + eps), y_ij = (x_ij - mean_j) * gamma_j * inv_j + beta_j (second
//   pass, with a relu absorbed from the next layer when there is one: fusion 5 in
//   network.cpp);
//   train_step only (Fwd::update_state): moving = moving * momentum + stat * (1 - momentum)
//   for the mean and the biased variance, as Keras does.
// forward, inference (predict / evaluate, or a frozen layer): the same with the moving
//   statistics in place of mean_j / var_j (one pass).
// backward (batch statistics), with xhat_ij = (x_ij - mean_j) * inv_j (dy: after the absorbed
//   relu's derivative, applied in pass 1 or already in the next layer's dX gemm):
//   pass 1: dbeta_j = sum_i dy_ij, dgamma_j = sum_i dy_ij * xhat_ij (double, rows in order)
//   pass 2: dx_ij = gamma_j * inv_j * (dy_ij - dbeta_j / m - xhat_ij * dgamma_j / m), in place
//   (the gradient through the batch statistics); gamma / beta are reported to the executor
//   (and updated) after pass 2, which reads gamma before the update.
// backward (moving statistics): dx_ij = dy_ij * gamma_j * inv_j; gamma / beta gradients as
//   above with the moving statistics when they train.
// Reference: these loops are the whole kernel (memory-bound; X stays in cache between the
// passes at the usual batch sizes); tests/test_batch_norm.py checks them against a float64
// numpy reference (forward, finite differences, analytic backward, moving statistics).
#include "layer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace lamina {
namespace net {
namespace {

template <class T>
class BatchNorm final : public Layer<T> {
 public:
  double eps = 1e-3, momentum = 0.99;
  bool batch_stats = true;  // the "training" attribute
  int gamma_i = -1, beta_i = -1;  // index in params, -1: absent
  std::size_t y_off = 0, st_off = 0, coef_off = 0;
  T* y = nullptr;
  T* coef = nullptr;  // (4, n) per-feature coefficients of an element-wise pass
  // Per feature (n each), kept from forward for backward: the mean and 1/sqrt(var + eps) in
  // use, and two accumulators.
  double* mean = nullptr;
  double* inv = nullptr;
  double* s1 = nullptr;
  double* s2 = nullptr;
  bool used_batch = false;  // whether the last forward used batch statistics

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    const std::size_t n = static_cast<std::size_t>(this->out_row());
    y_off = plan.take(static_cast<std::size_t>(rows) * n * sizeof(T));
    st_off = plan.take(4 * n * sizeof(double));
    coef_off = plan.take(4 * n * sizeof(T));
  }
  void bind(unsigned char* base) override {
    y = reinterpret_cast<T*>(base + y_off);
    const std::int64_t n = this->out_row();
    mean = reinterpret_cast<double*>(base + st_off);
    inv = mean + n;
    s1 = inv + n;
    s2 = s1 + n;
    coef = reinterpret_cast<T*>(base + coef_off);
  }

  const T* gamma() const { return gamma_i >= 0 ? this->params[gamma_i].w : nullptr; }

  // A relu right after this layer runs in its normalise pass (network.cpp, fusion 5); its
  // derivative reads Y only, so the next layer's dX gemm may apply it (act_hookable).
  bool absorb_activation(Activation a, double) override {
    if (a != Activation::relu || this->act != Activation::linear) return false;
    this->act = a;
    this->act_hookable = true;
    return true;
  }
  const T* preact() const override { return y; }  // relu' reads Y; Z is not kept
  const T* beta() const { return beta_i >= 0 ? this->params[beta_i].w : nullptr; }

  void forward(const Fwd& f, const T* x) override {
    const std::int64_t m = f.m, n = this->out_row();
    T* mm = this->state[0].w;
    T* mv = this->state[1].w;
    used_batch = f.train && batch_stats;
    if (used_batch) {
      // One pass, shifted by the first row (K = x_0j) so that the variance does not cancel
      // catastrophically: s1 = sum (x - K), s2 = sum (x - K)^2, mean = K + s1 / m,
      // var = s2 / m - (s1 / m)^2.
      for (std::int64_t j = 0; j < n; ++j) {
        mean[j] = static_cast<double>(x[j]);
        s1[j] = s2[j] = 0.0;
      }
      for (std::int64_t i = 0; i < m; ++i) {
        const T* xr = x + i * n;
        for (std::int64_t j = 0; j < n; ++j) {
          const double d = static_cast<double>(xr[j]) - mean[j];
          s1[j] += d;
          s2[j] += d * d;
        }
      }
      const double rm = 1.0 / static_cast<double>(m);
      for (std::int64_t j = 0; j < n; ++j) {
        const double d = s1[j] * rm;
        mean[j] += d;
        const double var = std::max(s2[j] * rm - d * d, 0.0);
        inv[j] = 1.0 / std::sqrt(var + eps);
        if (f.update_state) {
          const double keep = momentum, take = 1.0 - momentum;
          mm[j] = static_cast<T>(static_cast<double>(mm[j]) * keep + mean[j] * take);
          mv[j] = static_cast<T>(static_cast<double>(mv[j]) * keep + var * take);
        }
      }
    } else {
      for (std::int64_t j = 0; j < n; ++j) {
        mean[j] = static_cast<double>(mm[j]);
        inv[j] = 1.0 / std::sqrt(static_cast<double>(mv[j]) + eps);
      }
    }
    // y = (x - mean) * a + beta with a = gamma * inv, per feature in T. The mean is split
    // into mu = T(mean) and the rest lo = mean - mu, folded into the offset:
    // y = (x - mu) * a + (beta - lo * a), so a mean far from 0 costs no float32 accuracy.
    const T* g = gamma();
    const T* bt = beta();
    T* mu = coef;
    T* a = mu + n;
    T* b = a + n;
    for (std::int64_t j = 0; j < n; ++j) {
      mu[j] = static_cast<T>(mean[j]);
      const double aj = g ? static_cast<double>(g[j]) * inv[j] : inv[j];
      a[j] = static_cast<T>(aj);
      b[j] = static_cast<T>((bt ? static_cast<double>(bt[j]) : 0.0) -
                            (mean[j] - static_cast<double>(mu[j])) * aj);
    }
    if (this->act == Activation::relu) {  // absorbed from the next layer (network.cpp)
      for (std::int64_t i = 0; i < m; ++i) {
        const T* xr = x + i * n;
        T* yr = y + i * n;
        for (std::int64_t j = 0; j < n; ++j) {
          const T v = (xr[j] - mu[j]) * a[j] + b[j];
          yr[j] = v <= T(0) ? T(0) : v;  // NaN stays NaN, as the relu kernel
        }
      }
    } else {
      for (std::int64_t i = 0; i < m; ++i) {
        const T* xr = x + i * n;
        T* yr = y + i * n;
        for (std::int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - mu[j]) * a[j] + b[j];
      }
    }
    this->in = x;
    this->out = y;
  }

  T* backward(Bwd<T>& b) override {
    const std::int64_t m = b.m, n = this->out_row();
    const T* x = this->in;
    T* G = b.g;
    const T* g = gamma();
    const bool need_sums = used_batch || (gamma_i >= 0 && this->params[gamma_i].trainable) ||
                           (beta_i >= 0 && this->params[beta_i].trainable);
    // An absorbed relu: dY -> dZ = dY * (y > 0), unless the next layer's dX gemm did it.
    const bool relu_mask = this->act == Activation::relu && !b.dz_ready;
    if (need_sums) {
      // Pass 1: s1 = sum dz, s2 = sum dz * xhat (dz written back when the relu masks it).
      for (std::int64_t j = 0; j < n; ++j) s1[j] = s2[j] = 0.0;
      for (std::int64_t i = 0; i < m; ++i) {
        T* gr = G + i * n;
        const T* xr = x + i * n;
        if (relu_mask) {
          const T* yr = y + i * n;
          for (std::int64_t j = 0; j < n; ++j) gr[j] = yr[j] > T(0) ? gr[j] : T(0);
        }
        for (std::int64_t j = 0; j < n; ++j) {
          const double d = static_cast<double>(gr[j]);
          s1[j] += d;
          s2[j] += d * (static_cast<double>(xr[j]) - mean[j]);
        }
      }
      for (std::int64_t j = 0; j < n; ++j) s2[j] *= inv[j];
    }
    T* dx = nullptr;
    if (b.need_dx) {
      // Pass 2 in T with per-feature coefficients from double:
      //   dx = A * dy + B * (x - mean) + C,
      //   batch:   A = gamma inv, B = -A inv s2 / m, C = -A s1 / m;  moving: A only.
      // The coefficients use gamma before its update (reported below).
      T* A = coef;
      T* B = A + n;
      T* C = B + n;
      T* mu = C + n;
      const double rm = 1.0 / static_cast<double>(m);
      for (std::int64_t j = 0; j < n; ++j) {
        const double a = (g ? static_cast<double>(g[j]) : 1.0) * inv[j];
        A[j] = static_cast<T>(a);
        const double bj = used_batch ? -a * inv[j] * s2[j] * rm : 0.0;
        B[j] = static_cast<T>(bj);
        mu[j] = static_cast<T>(mean[j]);
        // B (x - mean) = B (x - mu) - B lo, lo = mean - mu (as in forward)
        C[j] = static_cast<T>((used_batch ? -a * s1[j] * rm : 0.0) -
                              bj * (mean[j] - static_cast<double>(mu[j])));
      }
      if (used_batch) {
        for (std::int64_t i = 0; i < m; ++i) {
          T* gr = G + i * n;
          const T* xr = x + i * n;
          for (std::int64_t j = 0; j < n; ++j)
            gr[j] = A[j] * gr[j] + B[j] * (xr[j] - mu[j]) + C[j];
        }
      } else if (relu_mask && !need_sums) {
        for (std::int64_t i = 0; i < m; ++i) {
          T* gr = G + i * n;
          const T* yr = y + i * n;
          for (std::int64_t j = 0; j < n; ++j) gr[j] = yr[j] > T(0) ? A[j] * gr[j] : T(0);
        }
      } else {
        for (std::int64_t i = 0; i < m; ++i) {
          T* gr = G + i * n;
          for (std::int64_t j = 0; j < n; ++j) gr[j] = A[j] * gr[j];
        }
      }
      dx = G;
    }
    if (gamma_i >= 0 && this->params[gamma_i].trainable) {
      Param<T>& p = this->params[gamma_i];
      for (std::int64_t j = 0; j < n; ++j) p.g[j] = static_cast<T>(s2[j]);
      b.ctx->grad_done(p.id);
    }
    if (beta_i >= 0 && this->params[beta_i].trainable) {
      Param<T>& p = this->params[beta_i];
      for (std::int64_t j = 0; j < n; ++j) p.g[j] = static_cast<T>(s1[j]);
      b.ctx->grad_done(p.id);
    }
    return dx;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in,
                               const std::string& where) {
  if (in.rank != 1)
    throw std::invalid_argument(where + "batch_normalization takes 1-D samples (axis=-1 on "
                                "(batch, features)), got rank " + std::to_string(in.rank));
  const std::int64_t n = in.dim[0];
  auto l = std::make_unique<BatchNorm<T>>();
  l->eps = attr(s, "epsilon").f;
  l->momentum = attr(s, "momentum").f;
  l->batch_stats = attr(s, "training").i != 0;
  const bool scale = attr(s, "scale").i != 0, center = attr(s, "center").i != 0;
  l->out_shape = in;
  std::vector<const char*> names;
  if (scale) {
    l->gamma_i = static_cast<int>(names.size());
    names.push_back("gamma");
  }
  if (center) {
    l->beta_i = static_cast<int>(names.size());
    names.push_back("beta");
  }
  take_params<T>(*l, s, names, std::vector<std::vector<std::int64_t>>(names.size(), {n}),
                 names.size(), where);
  const char* state_names[2] = {"moving_mean", "moving_variance"};
  if (s.state.size() != 2)
    throw std::invalid_argument(where + "batch_normalization needs the state 'moving_mean', "
                                "'moving_variance', got " + std::to_string(s.state.size()) +
                                " arrays");
  for (int k = 0; k < 2; ++k) {
    const StateSpec<T>& st = s.state[k];
    if (st.name != state_names[k])
      throw std::invalid_argument(where + "state " + std::to_string(k) + " must be '" +
                                  state_names[k] + "', got '" + st.name + "'");
    if (st.shape != std::vector<std::int64_t>{n} || st.value == nullptr)
      throw std::invalid_argument(where + "state '" + st.name + "' must have shape (" +
                                  std::to_string(n) + ",)");
  }
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"batch_normalization",
                  {{"epsilon", AttrType::real, 0, kInf, true, false},
                   {"momentum", AttrType::real, 0, 1, false, false},
                   {"training", AttrType::boolean, 0, 0, false, false},
                   {"scale", AttrType::boolean, 0, 0, false, false},
                   {"center", AttrType::boolean, 0, 0, false, false}},
                  {"gamma", "beta"}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
