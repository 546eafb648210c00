// Activation: Y = act(X), element-wise or row-wise (softmax, log_softmax).
//   attributes: activation (name; linear is the identity, dropped from the chain unless
//   keep is set: a network of reshapes and identities alone needs one layer), alpha (its
//   slope / scale, finite), keep (bool, optional)
//   X and Y (m, n) for any sample shape (n = its size; row-wise ones act on the last axis,
//   which is the whole row today).
// backward: dX = act'(X, Y) * dY in place; nothing when dz_ready (the fused loss already gave
//   dL/dX).
#include "layer.hpp"

#include "lamina/activations.hpp"

#include <limits>

namespace lamina {
namespace net {
namespace {

template <class T>
class ActivationLayer final : public Layer<T> {
 public:
  std::size_t y_off = 0;
  T* y = nullptr;

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    y_off = plan.take(static_cast<std::size_t>(rows * this->out_row()) * sizeof(T));
  }
  void bind(unsigned char* base) override { y = reinterpret_cast<T*>(base + y_off); }
  void forward(const Fwd& f, const T* x) override {
    const std::int64_t w = this->out_row();
    this->in = x;
    activation_forward<T>(this->act, this->alpha, f.m, w, x, w, y, w);
    this->out = y;
  }
  T* backward(Bwd<T>& b) override {
    const std::int64_t w = this->out_row();
    if (!b.dz_ready)
      activation_backward<T>(this->act, this->alpha, b.m, w, this->in, w, y, w, b.g, w, b.g, w);
    return b.need_dx ? b.g : nullptr;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in, const std::string&) {
  const auto act = static_cast<Activation>(attr(s, "activation").i);
  const AttrValue* keep = find_attr(s, "keep");
  if (act == Activation::linear && !(keep != nullptr && keep->i != 0))
    return nullptr;  // identity
  auto l = std::make_unique<ActivationLayer<T>>();
  l->act = act;
  l->alpha = attr(s, "alpha").f;
  l->out_shape = in;
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"activation",
                  {{"activation", AttrType::activation, 0, 0, false, false},
                   {"alpha", AttrType::real, -kInf, kInf, false, false},
                   {"keep", AttrType::boolean, 0, 0, false, false, true}},
                  {}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
