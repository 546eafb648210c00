// Dense: Y = act(X W + b).
//   attributes: units (int >= 1), activation (name), alpha (its slope / scale, finite),
//               compute_dtype (optional: the network's float type, or "bfloat16" in a float32
//               network: Keras's mixed_bfloat16, see below)
//   parameters: kernel (in, units), then optionally bias (units,)
//   X (m, in), Z and Y (m, units); Z is a buffer apart from Y only when keep_preact says so,
//   otherwise the activation runs in place on the gemm output.
// forward : one gemm with the bias and the activation fused (fuse_activation), row-wise
//           activations after it.
// backward: dZ = act'(Z, Y) * dY in place (unless the next layer's dX gemm did it: dz_ready);
//           dX = dZ W^T (m, in) into the spare buffer with the weights before the update, when
//           an earlier layer needs it; dW = X^T dZ (in, units) and db = colsum dZ for the
//           trainable ones only, each reported to the executor as soon as it is complete.
// compute_dtype "bfloat16": the three gemms (forward, dX, dW) run gemm_bf16: their inputs
//           (X, W, dZ) are rounded to bfloat16 while packed, products accumulate in float32,
//           and the epilogues (bias, activation, the fused derivative and optimizer update of
//           network.cpp's Fusion section) run on the float32 results as they do in float32.
//           Everything else stays float32: Z, Y, dZ buffers, the bias gradient, the master
//           weights and their update.
#include "layer.hpp"

#include "lamina/activations.hpp"
#include "lamina/gemm.hpp"
#include "lamina/gemm_bf16.hpp"

#include <limits>
#include <stdexcept>
#include <type_traits>

namespace lamina {
namespace net {
namespace {

// C := alpha op(A) op(B) + beta C with the epilogue: gemm<T>, or gemm_bf16 (bfloat16 inputs,
// float32 accumulation) when bf16 (float networks only: make() checks).
template <class T>
void dense_gemm(bool bf16, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k,
                const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T* c,
                std::int64_t ldc, const GemmEpilogue<T>* epi) {
  if constexpr (std::is_same<T, float>::value) {
    if (bf16) {
      gemm_bf16(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, epi);
      return;
    }
  }
  gemm<T>(ta, tb, m, n, k, T(1), a, lda, b, ldb, T(0), c, ldc, epi);
}

template <class T>
class Dense final : public Layer<T> {
 public:
  std::size_t y_off = 0, z_off = 0;
  bool keep_z = false;
  bool bf16 = false;  // compute_dtype "bfloat16": the gemms take bfloat16-rounded inputs
  T* y = nullptr;
  T* z = nullptr;  // == y unless keep_z
  ForwardHook<T> fhook;

  const T* kernel() const { return this->params[0].w; }
  const T* bias() const { return this->params.size() > 1 ? this->params[1].w : nullptr; }

  void layout(std::int64_t rows, ArenaPlan& plan) override {
    keep_z = keep_preact<T>(*this);
    const std::size_t n = static_cast<std::size_t>(rows * this->out_row()) * sizeof(T);
    y_off = plan.take(n);
    if (keep_z) z_off = plan.take(n);
  }
  void bind(unsigned char* base) override {
    y = reinterpret_cast<T*>(base + y_off);
    z = keep_z ? reinterpret_cast<T*>(base + z_off) : y;
  }
  const T* preact() const override { return z; }

  void forward(const Fwd& f, const T* x) override {
    const std::int64_t w = this->out_row(), in_w = this->in_row();
    this->in = x;
    GemmEpilogue<T> epi;
    epi.bias = bias();
    fuse_activation<T>(*this, keep_z, y, w, &fhook, &epi);
    dense_gemm<T>(bf16, false, false, f.m, w, in_w, x, in_w, kernel(), w, z, w, &epi);
    finish_activation<T>(*this, f.m, z, y, w);
    this->out = y;
  }

  T* backward(Bwd<T>& b) override {
    const std::int64_t m = b.m, w = this->out_row(), in_w = this->in_row();
    T* G = b.g;
    if (!b.dz_ready && this->act != Activation::linear)
      activation_backward<T>(this->act, this->alpha, m, w, z, w, y, w, G, w, G, w);
    T* dx = nullptr;
    if (b.need_dx) {
      GemmEpilogue<T> epi;
      if (b.dx_epi != nullptr) {
        epi = *b.dx_epi;
        b.dx_epi_used = true;
      }
      dense_gemm<T>(bf16, false, true, m, in_w, w, G, w, kernel(), w, b.spare, in_w, &epi);
      dx = b.spare;
    }
    Param<T>& pk = this->params[0];
    if (pk.trainable) {
      dense_gemm<T>(bf16, true, false, in_w, w, m, this->in, in_w, G, w, pk.g, w, nullptr);
      b.ctx->grad_done(pk.id);
    }
    if (this->params.size() > 1 && this->params[1].trainable) {
      Param<T>& pb = this->params[1];
      bias_grad<T>(m, w, G, w, T(0), pb.g);
      b.ctx->grad_done(pb.id);
    }
    return dx;
  }
};

template <class T>
std::unique_ptr<Layer<T>> make(const LayerSpec<T>& s, const SampleShape& in,
                               const std::string& where) {
  if (in.rank != 1)
    throw std::invalid_argument(where + "dense takes 1-D samples, got rank " +
                                std::to_string(in.rank));
  auto l = std::make_unique<Dense<T>>();
  const std::int64_t units = attr(s, "units").i;
  l->act = static_cast<Activation>(attr(s, "activation").i);
  l->alpha = attr(s, "alpha").f;
  l->act_hookable = true;
  if (const AttrValue* cd = find_attr(s, "compute_dtype")) {
    const DType d = static_cast<DType>(cd->i);
    const DType own = std::is_same<T, float>::value ? DType::float32 : DType::float64;
    if (d == DType::bfloat16 && !std::is_same<T, float>::value)
      throw std::invalid_argument(where + "dense compute_dtype 'bfloat16' (mixed_bfloat16) "
                                  "needs a float32 network, this one is float64");
    if (d != DType::bfloat16 && d != own)
      throw std::invalid_argument(where + "dense compute_dtype '" + dtype_name(d) +
                                  "' differs from the network's " + dtype_name(own) +
                                  " (accepted: " + dtype_name(own) + ", bfloat16)");
    l->bf16 = d == DType::bfloat16;
  }
  l->out_shape = SampleShape::vec(units);
  take_params<T>(*l, s, {{in.dim[0], units}, {units}}, 1, where);  // kernel, bias
  return l;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

const RegisterLayerKind kRegister{
    LayerKindInfo{"dense",
                  {{"units", AttrType::integer, 1, kInf, false, false},
                   {"activation", AttrType::activation, 0, 0, false, false},
                   {"alpha", AttrType::real, -kInf, kInf, false, false},
                   {"compute_dtype", AttrType::dtype, 0, 0, false, false, true}},
                  {"kernel", "bias"}},
    &make<float>, &make<double>};

}  // namespace
}  // namespace net
}  // namespace lamina
