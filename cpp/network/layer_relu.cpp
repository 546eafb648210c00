// ReLU with Keras 3's full arguments (layers.ReLU(max_value, negative_slope, threshold)), for
// the cases the activation kind does not cover (a max_value or a threshold):
//   P = X where X > threshold, else 0; then clipped to [0, max_value] when has_max;
//   Y = P - negative_slope * relu(threshold - X)   (keras.activations.relu, term by term).
//   attributes: has_max (bool), max_value (>= 0, read when has_max), negative_slope (>= 0),
//   threshold (finite)
//   X and Y (m, n) for any sample shape.
// backward: dX = dY * (X > threshold and (no max or 0 <= P < max_value) ? 1 : 0)
//           + dY * (X < threshold ? negative_slope : 0), in place.
// Reference: tests/test_layer_activations.py (float64 numpy and finite differences).
#include "layer.hpp"

#include <algorithm>
#include <limits>

namespace lamina {
namespace net {
namespace {

template <class T>
class ReLU final : public Layer<T> {
 public:
  bool has_max = false;
  T max_value = T(0), slope = T(0), threshold = T(0);
  std::size_t y_off = 0;
  T* y = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    y_off = plan.take(static_cast<std::size_t>(rows * this->out_row()) * sizeof(T));
  }
  void bind(unsigned char* base) override { y = reinterpret_cast<T*>(base + y_off); }
  void forward(const Fwd& f, const T* x) override {
    const std::int64_t n = f.m * this->out_row();
    for (std::int64_t i = 0; i < n; ++i) {
      const T v = x[i];
      T p = v > threshold ? v : T(0);
      if (has_max) p = std::min(std::max(p, T(0)), max_value);
      y[i] = v < threshold ? p - slope * (threshold - v) : p;
    }
    this->in = x;
    this->out = y;
  }
  T* backward(Bwd<T>& b) override {
    if (!b.need_dx) return nullptr;
    const std::int64_t n = b.m * this->out_row();
    const T* x = this->in;
    for (std::int64_t i = 0; i < n; ++i) {
      const T v = x[i];
      T d = T(0);
      if (v > threshold && (!has_max || (v >= T(0) && v < max_value))) d = T(1);
      if (v < threshold) d = slope;
      b.g[i] *= d;
    }
    return b.g;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in, const std::string&) {
  auto l = std::make_unique<ReLU<T>>();
  l->has_max = attr(s, "has_max").i != 0;
  l->max_value = static_cast<T>(attr(s, "max_value").f);
  l->slope = static_cast<T>(attr(s, "negative_slope").f);
  l->threshold = static_cast<T>(attr(s, "threshold").f);
  l->out_shape = in;
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"relu",
                  {{"has_max", AttrType::boolean, 0, 0, false, false},
                   {"max_value", AttrType::real, 0, kInf, false, false},
                   {"negative_slope", AttrType::real, 0, kInf, false, false},
                   {"threshold", AttrType::real, -kInf, kInf, false, false}},
                  {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
