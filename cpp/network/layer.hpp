// Internal to cpp/network/: the interface every layer kind implements, the kind registry,
// and the executor services a layer calls. One file per kind (layer_<kind>.cpp) holds its
// record, its forward / backward / buffer layout and its registration; network.cpp holds
// the executor (chain, arena, loss, step orchestration) and every cross-layer fusion.
//
// Contract for a kind
// - A factory builds the layer from its LayerSpec (attributes already checked against the
//   kind's schema by the executor) and the per-sample input shape; it sets out_shape, takes
//   its parameters with take_params (names and shapes checked there) and its traits, and
//   returns nullptr when the layer is the identity (it is then dropped from the chain).
// - Buffers: layout(rows, plan) reserves what the layer needs for `rows` rows (its output Y
//   at least, when it writes one), bind(base) turns the offsets into pointers. Called only
//   when the arena grows; nothing is allocated per step.
// - forward(f, x): x is (m, in row); sets `in` = x and `out` = its output (m, out row), which
//   may be x itself (identity at inference). A kind with non-trainable state (moving
//   statistics) updates it only when f.train && f.update_state: Network::forward runs the
//   training-mode forward of model(x, training=True) with update_state = false.
// - backward(b): b.g is dL/d(out) (m, out row), or dL/dZ when b.dz_ready (Z = the input of
//   the output activation `act`, see below). Computes the gradient of every TRAINABLE
//   parameter into param.g and reports it with b.ctx->grad_done(id) (the executor updates
//   the parameter there); when b.need_dx it returns
//   the buffer holding dL/d(in) (m, in row): b.g itself (in place) or b.spare; nullptr
//   otherwise. A gemm writing dX attaches b.dx_epi when given and sets b.dx_epi_used.
// - Adding a kind: one file cpp/network/layer_<kind>.cpp (the CMake glob picks it up) with a
//   class deriving from Layer<T>, a factory, and a namespace-scope
//   `const RegisterLayerKind kRegister{LayerKindInfo{"<kind>", {attributes}, {param names}},
//   &make<float>, &make<double>};` The binding parses its attributes from that schema and its
//   parameters / state generically; nothing else in C++ changes. See layer_activation.cpp
//   for an element-wise kind, layer_dense.cpp for one with parameters.
// - Traits the executor reads to fuse across layers: `act` / `alpha` (Y = act(Z) is the
//   layer's last step; linear: none), preact() (Z in the current forward), act_hookable
//   (the layer's backward starts with dZ = act'(Z, Y) * dY and accepts that it was already
//   applied block by block in the next layer's dX gemm, i.e. b.dz_ready).
#pragma once

#include "lamina/activations.hpp"
#include "lamina/gemm.hpp"
#include "lamina/network.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lamina {
namespace net {

constexpr std::size_t kAlign = 64;
constexpr int kMaxRank = 4;

// Per-sample shape: (features,) today; (time, features) or (h, w, c) fit without a change of
// the record. A batch activation is (m, size()) row-major.
struct SampleShape {
  int rank = 1;
  std::int64_t dim[kMaxRank] = {0, 0, 0, 0};
  static SampleShape vec(std::int64_t n) {
    SampleShape s;
    s.dim[0] = n;
    return s;
  }
  std::int64_t size() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dim[i];
    return n;
  }
};

// Arena offsets while the executor lays the buffers out for a number of rows.
class ArenaPlan {
 public:
  std::size_t take(std::size_t bytes) {
    const std::size_t at = off_;
    off_ += (bytes + kAlign - 1) / kAlign * kAlign;
    return at;
  }
  std::size_t total() const { return off_; }

 private:
  std::size_t off_ = 0;
};

// A parameter tensor of a layer (spec order). g: its gradient in the executor's store;
// nullptr when frozen (no gradient, no slots, no update, no penalty).
template <class T>
struct Param {
  std::string name;
  T* w = nullptr;
  std::vector<std::int64_t> shape;
  std::int64_t n = 0;
  bool trainable = true;
  double l1 = 0.0, l2 = 0.0;
  T* slots[3] = {nullptr, nullptr, nullptr};
  T* g = nullptr;
  int id = -1;  // index over all layers (the executor's)
};

// Non-trainable state the layer updates in place (batch_normalization's moving statistics).
template <class T>
struct State {
  std::string name;
  T* w = nullptr;
  std::vector<std::int64_t> shape;
  std::int64_t n = 0;
};

// One forward call.
struct Fwd {
  std::int64_t m = 0;
  bool train = false;      // training mode: dropout active, batch statistics
  // Whether a training forward may update non-trainable state (moving statistics): only
  // train_step's; gradients() and Network::forward (model(x, training=True)) change nothing.
  bool update_state = false;
  std::uint64_t seed = 0;  // dropout seed and step
  std::uint64_t step = 0;
};

// What the executor does with a finished gradient (network.cpp).
template <class T>
class GradSink {
 public:
  // The gradient of parameter `id` is complete in its g.
  virtual void grad_done(int id) = 0;

 protected:
  ~GradSink() = default;
};

// One backward call.
template <class T>
struct Bwd {
  std::int64_t m = 0;
  T* g = nullptr;        // dL/d(out), or dL/dZ when dz_ready
  T* spare = nullptr;    // (m, max row of the network) free buffer
  bool dz_ready = false;
  bool need_dx = false;
  const GemmEpilogue<T>* dx_epi = nullptr;  // attach to the gemm that writes dX
  bool dx_epi_used = false;                 // set by the layer
  GradSink<T>* ctx = nullptr;
};

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  std::uint32_t spec_index = 0;  // index in the spec (dropout masks, messages)
  SampleShape in_shape, out_shape;
  std::vector<Param<T>> params;
  std::vector<State<T>> state;

  // Fusion traits.
  Activation act = Activation::linear;
  double alpha = 0.0;
  bool act_hookable = false;
  bool feeds_fused_loss = false;  // set by the executor: preact() feeds the fused loss

  // Set by forward.
  const T* in = nullptr;
  const T* out = nullptr;
  // A loss term of the layer's own, summed over the rows of its last forward (the executor
  // adds activity_sum / m to the loss: Keras divides an activity regularizer by the batch
  // size); the layer's backward adds its gradient. ActivityRegularization's penalty; 0 for
  // every other kind.
  double activity_sum = 0.0;

  std::int64_t in_row() const { return in_shape.size(); }
  std::int64_t out_row() const { return out_shape.size(); }
  bool has_trainable() const {
    for (const Param<T>& p : params)
      if (p.trainable) return true;
    return false;
  }

  virtual void layout(std::int64_t rows, ArenaPlan& plan) = 0;
  virtual void bind(unsigned char* base) = 0;
  virtual void forward(const Fwd& f, const T* x) = 0;
  virtual T* backward(Bwd<T>& b) = 0;
  virtual const T* preact() const { return in; }
  // Fusion 5 (network.cpp): an activation layer right after this one offers its element-wise
  // activation; a kind that can apply it in its own last pass sets act / alpha (and
  // act_hookable when its backward honours dz_ready) and returns true, and the activation
  // layer leaves the chain. Default: no.
  virtual bool absorb_activation(Activation, double) { return false; }
};

// ---- registry -----------------------------------------------------------------------------

template <class T>
using LayerFactory = std::unique_ptr<Layer<T>> (*)(const LayerSpec<T>& spec,
                                                   const SampleShape& in,
                                                   const std::string& where);

// A namespace-scope `const RegisterLayerKind k{...};` in a kind's file registers it at
// static initialisation (the core is linked as object files, so none is dropped).
struct RegisterLayerKind {
  RegisterLayerKind(LayerKindInfo info, LayerFactory<float> make_f, LayerFactory<double> make_d);
};

// ---- helpers for kinds (network.cpp) -----------------------------------------------------

// The value of attribute `name` (present: the executor checked the spec against the schema).
template <class T>
const AttrValue& attr(const LayerSpec<T>& s, const char* name);

// The value of optional attribute `name`, or nullptr when the spec leaves it out.
template <class T>
const AttrValue* find_attr(const LayerSpec<T>& s, const char* name);

// Moves the spec's parameters into l.params: their names must be the kind's (LayerKindInfo::
// params, in order) and their shapes `shapes` (one per name); the first `required` are
// mandatory, the rest optional. Throws std::invalid_argument naming the bad one.
template <class T>
void take_params(Layer<T>& l, const LayerSpec<T>& s,
                 const std::vector<std::vector<std::int64_t>>& shapes, std::size_t required,
                 const std::string& where);
// The same with the expected names given (a kind whose parameter list depends on its
// attributes, e.g. batch_normalization's gamma / beta under scale / center).
template <class T>
void take_params(Layer<T>& l, const LayerSpec<T>& s, const std::vector<const char*>& names,
                 const std::vector<std::vector<std::int64_t>>& shapes, std::size_t required,
                 const std::string& where);

// Forward fusion of a layer's output activation into the gemm that writes its Z (c, ldc):
// relu in the gemm store when Y is written in place, another element-wise activation in the
// gemm's post hook into y; finish_activation then runs what could not be fused (row-wise
// softmax / log_softmax). `hook` is the layer's storage for the post hook's context.
template <class T>
struct ForwardHook {
  Activation act = Activation::linear;
  double alpha = 0.0;
  T* y = nullptr;
  std::int64_t ldy = 0;
};
template <class T>
void fuse_activation(const Layer<T>& l, bool z_apart, T* y, std::int64_t ldy,
                     ForwardHook<T>* hook, GemmEpilogue<T>* epi);
template <class T>
void finish_activation(const Layer<T>& l, std::int64_t m, const T* z, T* y, std::int64_t ld);
// Whether a layer with an output activation must keep Z apart from Y: the activation's
// derivative reads its input (and it is not relu, whose derivative reads Y), or Z feeds the
// fused loss.
template <class T>
bool keep_preact(const Layer<T>& l);

}  // namespace net
}  // namespace lamina
