// GaussianDropout (Keras's layers.GaussianDropout): Y = X * (1 + s N), s = sqrt(rate / (1 -
// rate)), in training; the identity at inference.
//   attributes: rate in [0, 1) (0: the identity, dropped from the chain)
//   X and Y (m, n) for any sample shape; N(seed, step, spec index, element index) from the
//   counter-based normal generator (lamina/noise.hpp); the factors 1 + s N are kept (m, n)
//   for backward.
// backward: dX = dY * (1 + s N), in place.
#include "layer.hpp"

#include "lamina/noise.hpp"

#include <cmath>

namespace lamina {
namespace net {
namespace {

template <class T>
class GaussianDropout final : public Layer<T> {
 public:
  double stddev = 0.0;
  std::size_t y_off = 0, noise_off = 0;
  T* y = nullptr;
  T* noise = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    const std::size_t n = static_cast<std::size_t>(rows * this->out_row()) * sizeof(T);
    y_off = plan.take(n);
    noise_off = plan.take(n);
  }
  void bind(unsigned char* base) override {
    y = reinterpret_cast<T*>(base + y_off);
    noise = reinterpret_cast<T*>(base + noise_off);
  }
  void forward(const Fwd& f, const T* x) override {
    this->in = x;
    if (!f.train) {
      this->out = x;
      return;
    }
    const std::int64_t n = f.m * this->out_row();
    normal_noise<T>(f.seed, f.step, this->spec_index, 1.0, stddev, n, noise);
    for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] * noise[i];
    this->out = y;
  }
  T* backward(Bwd<T>& b) override {
    if (!b.need_dx) return nullptr;
    const std::int64_t n = b.m * this->out_row();
    for (std::int64_t i = 0; i < n; ++i) b.g[i] *= noise[i];
    return b.g;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in, const std::string&) {
  const double rate = attr(s, "rate").f;
  if (rate == 0.0) return nullptr;  // identity
  auto l = std::make_unique<GaussianDropout<T>>();
  l->stddev = std::sqrt(rate / (1.0 - rate));
  l->out_shape = in;
  return l;
}

const RegisterLayerKind kRegister{
    LayerKindInfo{"gaussian_dropout", {{"rate", AttrType::real, 0, 1, false, true}}, {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
