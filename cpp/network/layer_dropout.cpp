// Dropout: Y = X * keep / (1 - rate) in training, the identity at inference.
//   attributes: rate in [0, 1) (0: the identity, dropped from the chain)
//   A second kind, "shared_dropout", is Dropout with Keras's noise_shape on a 2-D batch: the
//   attributes rate, row_shared / col_shared (bool: noise_shape (1, n) / (m, 1), one keep bit
//   per column / per row broadcast over the batch / the features; both: one bit in all).
//   X and Y (m, n) for any sample shape (n = its size); keep(seed, step, spec index, index of
//   the mask element) from the counter-based generator (dropout.hpp), kept as packed mask bits
//   (at most m*n/8 bytes) for backward. Without sharing the mask element is the element.
// backward: dX = dY * keep / (1 - rate), in place.
#include "layer.hpp"

#include "lamina/dropout.hpp"

namespace lamina {
namespace net {
namespace {

template <class T>
class Dropout final : public Layer<T> {
 public:
  double rate = 0.0;
  bool row_shared = false, col_shared = false;
  std::size_t y_off = 0, mask_off = 0;
  T* y = nullptr;
  std::uint8_t* mask = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    const std::size_t n = static_cast<std::size_t>(rows * this->out_row());
    y_off = plan.take(n * sizeof(T));
    mask_off = plan.take((n + 7) / 8);
  }
  void bind(unsigned char* base) override {
    y = reinterpret_cast<T*>(base + y_off);
    mask = base + mask_off;
  }
  bool shared() const { return row_shared || col_shared; }
  bool kept(std::int64_t i, std::int64_t j) const {
    const std::int64_t n = col_shared ? 1 : this->out_row();
    const std::int64_t e = (row_shared ? 0 : i) * n + (col_shared ? 0 : j);
    return (mask[e >> 3] >> (e & 7)) & 1;
  }
  // A broadcast mask (noise_shape): the reduced mask, then one scalar pass; y / dx = keep ?
  // v * s : +0.0 with the same s = T(1 / (1 - rate)) as dropout_forward.
  void apply_shared(std::int64_t m, const T* v, T* out) const {
    const T s = static_cast<T>(1.0 / (1.0 - rate));
    const std::int64_t n = this->out_row();
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        out[i * n + j] = kept(i, j) ? v[i * n + j] * s : T(0);
  }
  void forward(const Fwd& f, const T* x) override {
    this->in = x;
    if (f.train && shared()) {
      const std::int64_t len = (row_shared ? 1 : f.m) * (col_shared ? 1 : this->out_row());
      dropout_mask(f.seed, f.step, this->spec_index, rate, len, mask);
      apply_shared(f.m, x, y);
      this->out = y;
    } else if (f.train) {
      dropout_forward<T>(f.seed, f.step, this->spec_index, rate, f.m * this->out_row(), x, y,
                         mask);
      this->out = y;
    } else {
      this->out = x;
    }
  }
  T* backward(Bwd<T>& b) override {
    if (shared()) {
      if (b.need_dx) apply_shared(b.m, b.g, b.g);
      return b.need_dx ? b.g : nullptr;
    }
    dropout_backward<T>(rate, b.m * this->out_row(), mask, b.g, b.g);
    return b.need_dx ? b.g : nullptr;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in, const std::string&) {
  const double rate = attr(s, "rate").f;
  if (rate == 0.0) return nullptr;  // identity
  auto l = std::make_unique<Dropout<T>>();
  l->rate = rate;
  l->out_shape = in;
  return l;
}

template <class T>
std::unique_ptr<Layer<T>> make_shared(const LayerSpec<T>& s, const SampleShape& in,
                                      const std::string& where) {
  std::unique_ptr<Layer<T>> base = make<T>(s, in, where);
  if (base == nullptr) return base;
  auto* l = static_cast<Dropout<T>*>(base.get());
  l->row_shared = attr(s, "row_shared").i != 0;
  l->col_shared = attr(s, "col_shared").i != 0;
  return base;
}

const RegisterLayerKind kRegister{
    LayerKindInfo{"dropout", {{"rate", AttrType::real, 0, 1, false, true}}, {}},
    &make<float>, &make<double>};

const RegisterLayerKind kRegisterShared{
    LayerKindInfo{"shared_dropout",
                  {{"rate", AttrType::real, 0, 1, false, true},
                   {"row_shared", AttrType::boolean, 0, 0, false, false},
                   {"col_shared", AttrType::boolean, 0, 0, false, false}},
                  {}},
    &make_shared<float>, &make_shared<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
