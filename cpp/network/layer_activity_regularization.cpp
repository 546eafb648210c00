// ActivityRegularization (Keras's layers.ActivityRegularization, and activity_regularizer= on
// any layer, which the Python layer emits as this kind after its own entries): Y = X, and the
// loss gains (l1 sum|X| + l2 sum X^2) / m (Keras 3's Layer.__call__ divides the regularizer of
// an output by its batch size).
//   attributes: l1, l2 (>= 0; both 0: the identity, dropped from the chain)
//   X and Y (m, n) for any sample shape; Y is X itself (no copy).
// forward: activity_sum = l1 sum|X| + l2 sum X^2 over the batch, in double, in row-major order
//   (thread-count independent); the executor divides it by m.
// backward: dX = dY + (l1 sign(X) + 2 l2 X) / m (sign(0) = 0, as the weight penalties), in place.
#include "layer.hpp"

#include <cmath>
#include <limits>

namespace lamina {
namespace net {
namespace {

template <class T>
class ActivityRegularization final : public Layer<T> {
 public:
  double l1 = 0.0, l2 = 0.0;

  void layout(std::int64_t, ArenaPlan&) override {}
  void bind(unsigned char*) override {}
  void forward(const Fwd& f, const T* x) override {
    const std::int64_t n = f.m * this->out_row();
    double s1 = 0.0, s2 = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(x[i]);
      s1 += std::fabs(v);
      s2 += v * v;
    }
    this->activity_sum = l1 * s1 + l2 * s2;
    this->in = x;
    this->out = x;
  }
  T* backward(Bwd<T>& b) override {
    if (!b.need_dx) return nullptr;
    const std::int64_t n = b.m * this->out_row();
    const T inv_m = static_cast<T>(1.0 / static_cast<double>(b.m));
    const T c1 = static_cast<T>(l1) * inv_m, c2 = static_cast<T>(2.0 * l2) * inv_m;
    const T* x = this->in;
    for (std::int64_t i = 0; i < n; ++i) {
      const T v = x[i];
      const T sg = v > T(0) ? T(1) : (v < T(0) ? T(-1) : T(0));
      b.g[i] += c1 * sg + c2 * v;
    }
    return b.g;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in, const std::string&) {
  const double l1 = attr(s, "l1").f, l2 = attr(s, "l2").f;
  if (l1 == 0.0 && l2 == 0.0) return nullptr;  // identity
  auto l = std::make_unique<ActivityRegularization<T>>();
  l->l1 = l1;
  l->l2 = l2;
  l->out_shape = in;
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"activity_regularization",
                  {{"l1", AttrType::real, 0, kInf, false, false},
                   {"l2", AttrType::real, 0, kInf, false, false}},
                  {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
