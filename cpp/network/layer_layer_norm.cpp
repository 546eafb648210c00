// LayerNormalization (Keras 3's layers.LayerNormalization, axis=-1):
//   attributes: epsilon (> 0), scale (has gamma), center (has beta)
//   parameters: gamma (n,) when scale, then beta (n,) when center
//   X and Y (m, n) row-major; per-sample statistics over the n features of a row, the same
//   in training and inference.
// forward, row by row (the row stays in cache): mean = sum_j x_j / n, var = sum_j (x_j -
//   mean)^2 / n (biased; double accumulators, features in order), inv = 1 / sqrt(var + eps),
//   y_j = (x_j - mean) * inv * gamma_j + beta_j; mean and inv kept per row for backward.
// backward, row by row in one pass, with xhat_j = (x_j - mean) * inv, d_j = dy_j * gamma_j:
//   dgamma_j += dy_j * xhat_j, dbeta_j += dy_j (double, rows in order: thread-count
//   independent), dx_j = inv * (d_j - sum_k d_k / n - xhat_j * sum_k d_k xhat_k / n), in place;
//   gamma / beta are reported to the executor after the pass (dx read gamma before update).
// Reference: these loops are the whole kernel; tests/test_layer_norm.py checks them against a
// float64 numpy reference.
#include "layer.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace lamina {
namespace net {
namespace {

template <class T>
class LayerNorm final : public Layer<T> {
 public:
  double eps = 1e-3;
  int gamma_i = -1, beta_i = -1;
  std::size_t y_off = 0, row_off = 0, acc_off = 0;
  T* y = nullptr;
  double* rmean = nullptr;  // (m,) per row
  double* rinv = nullptr;   // (m,)
  double* dg = nullptr;     // (n,) accumulators of dgamma, dbeta
  double* db = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    const std::size_t n = static_cast<std::size_t>(this->out_row());
    y_off = plan.take(static_cast<std::size_t>(rows) * n * sizeof(T));
    row_off = plan.take(2 * static_cast<std::size_t>(rows) * sizeof(double));
    rows_ = rows;
    acc_off = plan.take(2 * n * sizeof(double));
  }
  void bind(unsigned char* base) override {
    y = reinterpret_cast<T*>(base + y_off);
    rmean = reinterpret_cast<double*>(base + row_off);
    rinv = rmean + rows_;
    dg = reinterpret_cast<double*>(base + acc_off);
    db = dg + this->out_row();
  }

  const T* gamma() const { return gamma_i >= 0 ? this->params[gamma_i].w : nullptr; }
  const T* beta() const { return beta_i >= 0 ? this->params[beta_i].w : nullptr; }

  void forward(const Fwd& f, const T* x) override {
    const std::int64_t m = f.m, n = this->out_row();
    const T* g = gamma();
    const T* bt = beta();
    const double rn = 1.0 / static_cast<double>(n);
    for (std::int64_t i = 0; i < m; ++i) {
      const T* xr = x + i * n;
      T* yr = y + i * n;
      double s = 0.0;
      for (std::int64_t j = 0; j < n; ++j) s += static_cast<double>(xr[j]);
      const double mean = s * rn;
      double q = 0.0;
      for (std::int64_t j = 0; j < n; ++j) {
        const double d = static_cast<double>(xr[j]) - mean;
        q += d * d;
      }
      const double inv = 1.0 / std::sqrt(q * rn + eps);
      rmean[i] = mean;
      rinv[i] = inv;
      // xhat = (x - mu) * iv + c with mu = T(mean), c = -(mean - mu) * inv: the rounding of
      // a mean far from 0 to T costs no accuracy.
      const T mu = static_cast<T>(mean), iv = static_cast<T>(inv);
      const T c = static_cast<T>(-(mean - static_cast<double>(mu)) * inv);
      if (g != nullptr && bt != nullptr) {
        for (std::int64_t j = 0; j < n; ++j) yr[j] = ((xr[j] - mu) * iv + c) * g[j] + bt[j];
      } else if (g != nullptr) {
        for (std::int64_t j = 0; j < n; ++j) yr[j] = ((xr[j] - mu) * iv + c) * g[j];
      } else if (bt != nullptr) {
        for (std::int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - mu) * iv + c + bt[j];
      } else {
        for (std::int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - mu) * iv + c;
      }
    }
    this->in = x;
    this->out = y;
  }

  T* backward(Bwd<T>& b) override {
    const std::int64_t m = b.m, n = this->out_row();
    const T* x = this->in;
    const T* g = gamma();
    const bool g_train = gamma_i >= 0 && this->params[gamma_i].trainable;
    const bool b_train = beta_i >= 0 && this->params[beta_i].trainable;
    for (std::int64_t j = 0; j < n; ++j) dg[j] = db[j] = 0.0;
    const double rn = 1.0 / static_cast<double>(n);
    for (std::int64_t i = 0; i < m; ++i) {
      T* gr = b.g + i * n;
      const T* xr = x + i * n;
      const double mean = rmean[i], inv = rinv[i];
      double sd = 0.0, sdx = 0.0;
      for (std::int64_t j = 0; j < n; ++j) {
        const double dy = static_cast<double>(gr[j]);
        const double xh = (static_cast<double>(xr[j]) - mean) * inv;
        const double d = g ? dy * static_cast<double>(g[j]) : dy;
        dg[j] += dy * xh;
        db[j] += dy;
        sd += d;
        sdx += d * xh;
      }
      if (!b.need_dx) continue;
      // dx = inv * d - xhat * inv * sdx / n - inv * sd / n, in T.
      // k (x - mean) = k (x - mu) - k (mean - mu), folded into c (as in forward)
      const T mu = static_cast<T>(mean);
      const double kd = -inv * inv * sdx * rn;
      const T a = static_cast<T>(inv), k = static_cast<T>(kd),
              c = static_cast<T>(-inv * sd * rn - kd * (mean - static_cast<double>(mu)));
      if (g != nullptr) {
        for (std::int64_t j = 0; j < n; ++j) gr[j] = a * (gr[j] * g[j]) + k * (xr[j] - mu) + c;
      } else {
        for (std::int64_t j = 0; j < n; ++j) gr[j] = a * gr[j] + k * (xr[j] - mu) + c;
      }
    }
    if (g_train) {
      Param<T>& p = this->params[gamma_i];
      for (std::int64_t j = 0; j < n; ++j) p.g[j] = static_cast<T>(dg[j]);
      b.ctx->grad_done(p.id);
    }
    if (b_train) {
      Param<T>& p = this->params[beta_i];
      for (std::int64_t j = 0; j < n; ++j) p.g[j] = static_cast<T>(db[j]);
      b.ctx->grad_done(p.id);
    }
    return b.need_dx ? b.g : nullptr;
  }

 private:
  std::int64_t rows_ = 0;
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in,
                               const std::string& where) {
  if (in.rank != 1)
    throw std::invalid_argument(where + "layer_normalization takes 1-D samples (axis=-1), got "
                                "rank " + std::to_string(in.rank));
  const std::int64_t n = in.dim[0];
  auto l = std::make_unique<LayerNorm<T>>();
  l->eps = attr(s, "epsilon").f;
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
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"layer_normalization",
                  {{"epsilon", AttrType::real, 0, kInf, true, false},
                   {"scale", AttrType::boolean, 0, 0, false, false},
                   {"center", AttrType::boolean, 0, 0, false, false}},
                  {"gamma", "beta"}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
