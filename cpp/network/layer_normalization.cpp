// Normalization (Keras's layers.Normalization): Y = (X - mean) / max(sqrt(variance), epsilon),
// or with invert: Y = mean + X * max(sqrt(variance), epsilon); element-wise, per statistic.
//   attributes: invert (bool), epsilon (> 0; Keras's backend epsilon), inner (int >= 1)
//   state: mean (k), variance (k) (read, never written: adapt() fills them in Python)
//   X and Y (m, n): element j of a row uses statistic c(j) = (j / inner) % k, i.e. the kept
//   axes of the sample shape are contiguous, `inner` is the size of the axes after them
//   (k * inner divides n). axis=-1 on (features,) samples: inner = 1, k = features.
// forward: d_c = max(sqrt(var_c), eps) in T (as Keras computes it), then one pass dividing
//   (multiplying when inverted); the k divisors live in the arena.
// backward: dX = dY / d (dY * d when inverted), in place. No parameters.
// Reference: tests/test_layer_normalization.py checks it against numpy in float64.
#include "layer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace lamina {
namespace net {
namespace {

template <class T>
class Normalization final : public Layer<T> {
 public:
  bool invert = false;
  T eps = T(0);
  std::int64_t inner = 1, k = 1;
  const T* mean = nullptr;
  const T* var = nullptr;
  std::size_t y_off = 0, d_off = 0;
  T* y = nullptr;
  T* d = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    y_off = plan.take(static_cast<std::size_t>(rows * this->out_row()) * sizeof(T));
    d_off = plan.take(static_cast<std::size_t>(k) * sizeof(T));
  }
  void bind(unsigned char* base) override {
    y = reinterpret_cast<T*>(base + y_off);
    d = reinterpret_cast<T*>(base + d_off);
  }
  void forward(const Fwd& f, const T* x) override {
    for (std::int64_t c = 0; c < k; ++c) d[c] = std::max(std::sqrt(var[c]), eps);
    const std::int64_t n = this->out_row();
    if (inner == 1 && k == n) {  // per feature (axis=-1 on flat samples): plain loops
      for (std::int64_t i = 0; i < f.m; ++i) {
        const T* xr = x + i * n;
        T* yr = y + i * n;
        if (invert) {
          for (std::int64_t j = 0; j < n; ++j) yr[j] = mean[j] + xr[j] * d[j];
        } else {
          for (std::int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - mean[j]) / d[j];
        }
      }
    } else {
      for (std::int64_t i = 0; i < f.m; ++i) {
        const T* xr = x + i * n;
        T* yr = y + i * n;
        for (std::int64_t j = 0; j < n; ++j) {
          const std::int64_t c = (j / inner) % k;
          yr[j] = invert ? mean[c] + xr[j] * d[c] : (xr[j] - mean[c]) / d[c];
        }
      }
    }
    this->in = x;
    this->out = y;
  }
  T* backward(Bwd<T>& b) override {
    if (!b.need_dx) return nullptr;
    const std::int64_t n = this->out_row();
    for (std::int64_t i = 0; i < b.m; ++i) {
      T* g = b.g + i * n;
      for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t c = (j / inner) % k;
        g[j] = invert ? g[j] * d[c] : g[j] / d[c];
      }
    }
    return b.g;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in,
                               const std::string& where) {
  auto l = std::make_unique<Normalization<T>>();
  l->invert = attr(s, "invert").i != 0;
  l->eps = static_cast<T>(attr(s, "epsilon").f);
  l->inner = attr(s, "inner").i;
  if (s.state.size() != 2 || s.state[0].name != "mean" || s.state[1].name != "variance")
    throw std::invalid_argument(where + "normalization takes the state 'mean', 'variance'");
  std::int64_t k = 1;
  for (std::int64_t dim : s.state[0].shape) k *= dim;
  std::int64_t kv = 1;
  for (std::int64_t dim : s.state[1].shape) kv *= dim;
  const std::int64_t n = in.size();
  if (k < 1 || kv != k || n % (k * l->inner) != 0)
    throw std::invalid_argument(where + "normalization: " + std::to_string(k) + " means and " +
                                std::to_string(kv) + " variances (inner " +
                                std::to_string(l->inner) + ") do not tile a row of " +
                                std::to_string(n));
  l->k = k;
  l->mean = s.state[0].value;
  l->var = s.state[1].value;
  l->out_shape = in;
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"normalization",
                  {{"invert", AttrType::boolean, 0, 0, false, false},
                   {"epsilon", AttrType::real, 0, kInf, true, false},
                   {"inner", AttrType::integer, 1, kInf, false, false}},
                  {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
