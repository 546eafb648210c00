// Dropout: Y = X * keep / (1 - rate) in training, the identity at inference.
//   attributes: rate in [0, 1) (0: the identity, dropped from the chain)
//   X and Y (m, n) for any sample shape (n = its size); keep(seed, step, spec index, element
//   index) from the counter-based generator (dropout.hpp), kept as packed mask bits (m*n/8
//   bytes) for backward.
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
  void forward(const Fwd& f, const T* x) override {
    this->in = x;
    if (f.train) {
      dropout_forward<T>(f.seed, f.step, this->spec_index, rate, f.m * this->out_row(), x, y,
                         mask);
      this->out = y;
    } else {
      this->out = x;
    }
  }
  T* backward(Bwd<T>& b) override {
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

const RegisterLayerKind kRegister{
    LayerKindInfo{"dropout", {{"rate", AttrType::real, 0, 1, false, true}}, {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
