// PReLU (Keras's layers.PReLU): Y = X where X > 0, alpha_c(j) * X elsewhere; learnable slopes.
//   attributes: inner (int >= 1)
//   parameters: alpha, any shape of k elements (Keras's: the sample shape with the shared axes
//   set to 1); element j of a row uses slope c(j) = (j / inner) % k (the unshared axes are
//   contiguous, `inner` the size of the axes after them; k * inner divides the row).
//   X and Y (m, n).
// backward: dalpha_c = sum over rows and the elements of slope c of dY * X where X < 0 (a
//   fixed row-major order: thread-count independent), computed first, reported with grad_done;
//   then dX = dY where X > 0, alpha_c dY where X < 0, 0 at X == 0 (as Keras's
//   relu(x) - alpha relu(-x) differentiates), in place.
// Reference: tests/test_layer_prelu.py (float64 numpy and finite differences).
#include "layer.hpp"

#include <cstring>
#include <limits>
#include <stdexcept>

namespace lamina {
namespace net {
namespace {

template <class T>
class PReLU final : public Layer<T> {
 public:
  std::int64_t inner = 1, k = 1;
  std::size_t y_off = 0;
  T* y = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    y_off = plan.take(static_cast<std::size_t>(rows * this->out_row()) * sizeof(T));
  }
  void bind(unsigned char* base) override { y = reinterpret_cast<T*>(base + y_off); }
  void forward(const Fwd& f, const T* x) override {
    const T* a = this->params[0].w;
    const std::int64_t n = this->out_row();
    const bool per_element = inner == 1 && k == n;  // the default: one slope per feature
    for (std::int64_t i = 0; i < f.m; ++i) {
      const T* xr = x + i * n;
      T* yr = y + i * n;
      if (per_element) {
        for (std::int64_t j = 0; j < n; ++j) yr[j] = xr[j] > T(0) ? xr[j] : a[j] * xr[j];
      } else {
        for (std::int64_t j = 0; j < n; ++j) {
          const T v = xr[j];
          yr[j] = v > T(0) ? v : a[(j / inner) % k] * v;
        }
      }
    }
    this->in = x;
    this->out = y;
  }
  T* backward(Bwd<T>& b) override {
    Param<T>& pa = this->params[0];
    const T* a = pa.w;
    const std::int64_t n = this->out_row();
    if (pa.trainable) {
      std::memset(pa.g, 0, static_cast<std::size_t>(k) * sizeof(T));
      for (std::int64_t i = 0; i < b.m; ++i) {
        const T* xr = this->in + i * n;
        const T* g = b.g + i * n;
        for (std::int64_t j = 0; j < n; ++j)
          if (xr[j] < T(0)) pa.g[(j / inner) % k] += g[j] * xr[j];
      }
    }
    if (b.need_dx) {
      for (std::int64_t i = 0; i < b.m; ++i) {
        const T* xr = this->in + i * n;
        T* g = b.g + i * n;
        for (std::int64_t j = 0; j < n; ++j) {
          const T v = xr[j];
          g[j] = v > T(0) ? g[j] : (v < T(0) ? a[(j / inner) % k] * g[j] : T(0));
        }
      }
    }
    // After dX: the update (in grad_done) must not change the slopes dX used.
    if (pa.trainable) b.ctx->grad_done(pa.id);
    return b.need_dx ? b.g : nullptr;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in,
                               const std::string& where) {
  auto l = std::make_unique<PReLU<T>>();
  l->inner = attr(s, "inner").i;
  if (s.params.size() != 1)
    throw std::invalid_argument(where + "prelu takes the parameter 'alpha', got " +
                                std::to_string(s.params.size()) + " parameters");
  std::int64_t k = 1;
  for (std::int64_t d : s.params[0].shape) k *= d;
  const std::int64_t n = in.size();
  if (k < 1 || n % (k * l->inner) != 0)
    throw std::invalid_argument(where + "prelu: " + std::to_string(k) + " slopes (inner " +
                                std::to_string(l->inner) + ") do not tile a row of " +
                                std::to_string(n));
  l->k = k;
  l->out_shape = in;
  take_params<T>(*l, s, {s.params[0].shape}, 1, where);
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"prelu", {{"inner", AttrType::integer, 1, kInf, false, false}}, {"alpha"}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
