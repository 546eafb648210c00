// AlphaDropout (Keras's layers.AlphaDropout): in training, dropped elements are set to SELU's
// negative saturation alpha' = -1.6732632423543772 * 1.0507009873554805, then an affine map
// keeps the mean and variance: Y = a * (keep ? X : alpha') + b with
//   a = ((1 - rate) (1 + rate alpha'^2))^-1/2, b = -a alpha' rate (Keras 3's formulas);
// the identity at inference.
//   attributes: rate in [0, 1) (0: the identity, dropped from the chain), row_shared /
//   col_shared (bool: noise_shape (1, n) / (m, 1): one keep bit per column / per row)
//   X and Y (m, n); keep(seed, step, spec index, index of the mask element) is the dropout
//   generator's bit (lamina/dropout.hpp), kept packed for backward.
// backward: dX = dY * a * keep, in place.
#include "layer.hpp"

#include "lamina/dropout.hpp"

#include <cmath>

namespace lamina {
namespace net {
namespace {

template <class T>
class AlphaDropout final : public Layer<T> {
 public:
  double rate = 0.0;
  bool row_shared = false, col_shared = false;
  T a = T(1), b = T(0), alpha_p = T(0);
  std::size_t y_off = 0, mask_off = 0;
  T* y = nullptr;
  std::uint8_t* mask = nullptr;

  // Mask elements for m rows: one per element, per column (row_shared) or per row (col_shared).
  std::int64_t mask_len(std::int64_t m) const {
    const std::int64_t n = this->out_row();
    return (row_shared ? 1 : m) * (col_shared ? 1 : n);
  }
  bool kept(std::int64_t i, std::int64_t j) const {
    const std::int64_t n = col_shared ? 1 : this->out_row();
    const std::int64_t e = (row_shared ? 0 : i) * n + (col_shared ? 0 : j);
    return (mask[e >> 3] >> (e & 7)) & 1;
  }
  void layout(std::int64_t rows, ArenaPlan& plan) override {
    y_off = plan.take(static_cast<std::size_t>(rows * this->out_row()) * sizeof(T));
    mask_off = plan.take(static_cast<std::size_t>((rows * this->out_row() + 7) / 8));
  }
  void bind(unsigned char* base) override {
    y = reinterpret_cast<T*>(base + y_off);
    mask = base + mask_off;
  }
  void forward(const Fwd& f, const T* x) override {
    this->in = x;
    if (!f.train) {
      this->out = x;
      return;
    }
    dropout_mask(f.seed, f.step, this->spec_index, rate, mask_len(f.m), mask);
    const std::int64_t n = this->out_row();
    for (std::int64_t i = 0; i < f.m; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        y[i * n + j] = a * (kept(i, j) ? x[i * n + j] : alpha_p) + b;
    this->out = y;
  }
  T* backward(Bwd<T>& bw) override {
    if (!bw.need_dx) return nullptr;
    const std::int64_t n = this->out_row();
    for (std::int64_t i = 0; i < bw.m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        T& g = bw.g[i * n + j];
        g = kept(i, j) ? g * a : T(0);
      }
    return bw.g;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in, const std::string&) {
  const double rate = attr(s, "rate").f;
  if (rate == 0.0) return nullptr;  // identity
  auto l = std::make_unique<AlphaDropout<T>>();
  l->rate = rate;
  l->row_shared = attr(s, "row_shared").i != 0;
  l->col_shared = attr(s, "col_shared").i != 0;
  const double alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946;
  const double a = std::pow((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p), -0.5);
  l->a = static_cast<T>(a);
  l->b = static_cast<T>(-a * alpha_p * rate);
  l->alpha_p = static_cast<T>(alpha_p);
  l->out_shape = in;
  return l;
}

const RegisterLayerKind kRegister{
    LayerKindInfo{"alpha_dropout",
                  {{"rate", AttrType::real, 0, 1, false, true},
                   {"row_shared", AttrType::boolean, 0, 0, false, false},
                   {"col_shared", AttrType::boolean, 0, 0, false, false}},
                  {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
