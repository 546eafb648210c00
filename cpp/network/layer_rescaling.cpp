// Rescaling (Keras's layers.Rescaling): Y = X * scale + offset, element-wise.
//   attributes: scale, offset (finite reals)
//   X and Y (m, n) for any sample shape (n = its size); no parameters, no state.
// backward: dX = dY * scale, in place.
// Reference: the loops below are the whole kernel (memory-bound, one pass, vectorised by the
// compiler); tests/test_layer_rescaling.py checks them against numpy in float64.
#include "layer.hpp"

#include <limits>

namespace lamina {
namespace net {
namespace {

template <class T>
class Rescaling final : public Layer<T> {
 public:
  T scale = T(1), offset = T(0);
  std::size_t y_off = 0;
  T* y = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    y_off = plan.take(static_cast<std::size_t>(rows * this->out_row()) * sizeof(T));
  }
  void bind(unsigned char* base) override { y = reinterpret_cast<T*>(base + y_off); }
  void forward(const Fwd& f, const T* x) override {
    const std::int64_t n = f.m * this->out_row();
    const T s = scale, o = offset;
    T* out = y;
    for (std::int64_t i = 0; i < n; ++i) out[i] = x[i] * s + o;
    this->in = x;
    this->out = y;
  }
  T* backward(Bwd<T>& b) override {
    if (!b.need_dx) return nullptr;
    const std::int64_t n = b.m * this->out_row();
    const T s = scale;
    T* g = b.g;
    for (std::int64_t i = 0; i < n; ++i) g[i] *= s;
    return g;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in, const std::string&) {
  const double scale = attr(s, "scale").f, offset = attr(s, "offset").f;
  if (scale == 1.0 && offset == 0.0) return nullptr;  // identity
  auto l = std::make_unique<Rescaling<T>>();
  l->scale = static_cast<T>(scale);
  l->offset = static_cast<T>(offset);
  l->out_shape = in;
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"rescaling",
                  {{"scale", AttrType::real, -kInf, kInf, false, false},
                   {"offset", AttrType::real, -kInf, kInf, false, false}},
                  {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
