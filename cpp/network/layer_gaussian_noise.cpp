// GaussianNoise (Keras's layers.GaussianNoise): Y = X + stddev * N in training, the identity at
// inference.
//   attributes: stddev (> 0; 0 is the identity, dropped from the chain)
//   X and Y (m, n) for any sample shape; N(seed, step, spec index, element index) from the
//   counter-based normal generator (lamina/noise.hpp): reproducible, thread-count independent.
// backward: dX = dY (the noise is additive): nothing to do, in place.
#include "layer.hpp"

#include "lamina/noise.hpp"

#include <limits>

namespace lamina {
namespace net {
namespace {

template <class T>
class GaussianNoise final : public Layer<T> {
 public:
  double stddev = 0.0;
  std::size_t y_off = 0;
  T* y = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    y_off = plan.take(static_cast<std::size_t>(rows * this->out_row()) * sizeof(T));
  }
  void bind(unsigned char* base) override { y = reinterpret_cast<T*>(base + y_off); }
  void forward(const Fwd& f, const T* x) override {
    this->in = x;
    if (!f.train) {
      this->out = x;
      return;
    }
    const std::int64_t n = f.m * this->out_row();
    normal_noise<T>(f.seed, f.step, this->spec_index, 0.0, stddev, n, y);
    for (std::int64_t i = 0; i < n; ++i) y[i] += x[i];
    this->out = y;
  }
  T* backward(Bwd<T>& b) override { return b.need_dx ? b.g : nullptr; }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in, const std::string&) {
  const double stddev = attr(s, "stddev").f;
  if (stddev == 0.0) return nullptr;  // identity
  auto l = std::make_unique<GaussianNoise<T>>();
  l->stddev = stddev;
  l->out_shape = in;
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"gaussian_noise", {{"stddev", AttrType::real, 0, kInf, false, false}}, {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
