// The step executor (see lamina/network.hpp for the contract, network/layer.hpp for what a
// layer kind implements).
//
// Layout of one step for layers 0..L-1 (whatever their kinds), m rows:
//   forward  : layer by layer, Y_k = layer_k(Y_{k-1}) into the layer's arena buffers.
//   loss     : value + gradient dL/dY_last (or dL/dZ_last when softmax/sigmoid + CE is fused),
//              metrics on Y_last
//   backward : G holds dL/d(output of layer k); two ping-pong buffers G0/G1 of m * max row.
//              From the last layer down to the earliest layer with a trainable parameter
//              (nothing before it needs a gradient): each layer turns G into dL/d(its input),
//              in place or into the other buffer, and computes its parameters' gradients.
//   update   : element-wise rules (no clipnorm / global_clipnorm): each tensor is updated
//              as soon as its gradient is complete, big ones inside the gemm that writes
//              their gradient, strip by strip; otherwise after the backward pass, with the
//              global clipnorm factor. L1/L2 penalty gradients are folded into optim_update.
//
// Fusion across layers, all decided here (the layers only expose traits, layer.hpp):
//   1. loss: a last layer whose output activation is softmax / sigmoid with the matching
//      crossentropy gets the loss on its pre-activation (preact()) from logits; its backward
//      starts from dZ (dz_ready), and it keeps Z apart (feeds_fused_loss).
//   2. forward: a layer that writes Z with a gemm gets its output activation in that gemm
//      (fuse_activation: relu in the store when in place, element-wise ones in the post hook,
//      row-wise ones after); Z is kept apart from Y only when needed (keep_preact).
//   3. backward: when layer k-1 is act_hookable with an element-wise activation, its
//      derivative dZ = f'(Z) * dY runs in the post hook of layer k's dX gemm, block by block
//      while in cache; layer k-1 then starts from dz_ready.
//   4. update: each trainable tensor is updated as soon as its gradient is complete
//      (grad_done), in one parallel pass over the whole tensor. (Updating inside the post hook
//      of the gradient gemm, block by block, was measured slower: between the gemm's blocks
//      the update's streams of weights and slots evict its packed operands. mnist-mlp
//      784-512-256-10 Adam batch 128, Zen 4, 1 thread: -3% to -9% per epoch without it,
//      mixed_bfloat16 -3%.)
//   5. chain: an activation layer right after a layer that can apply it in its own last pass
//      (Layer::absorb_activation; batch_normalization takes relu) leaves the chain.
// Buffers: each layer's own (layout/bind), then G0/G1, in one 64-byte-aligned arena that
// grows only with m; the gradients of trainable parameters in one buffer sized at
// construction.
#include "lamina/network.hpp"

#include "layer.hpp"

#include "lamina/runtime.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

namespace lamina {

namespace net {

namespace {

constexpr std::int64_t kChunkRows = 1024;  // predict / evaluate row chunk when m > capacity

struct AlignedFree {
  void operator()(unsigned char* p) const { ::operator delete(p, std::align_val_t(kAlign)); }
};
using Bytes = std::unique_ptr<unsigned char, AlignedFree>;

Bytes alloc_bytes(std::size_t n) {
  if (n == 0) n = kAlign;
  return Bytes(static_cast<unsigned char*>(::operator new(n, std::align_val_t(kAlign))));
}

std::size_t round_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

bool is_rowwise(Activation a) { return a == Activation::softmax || a == Activation::log_softmax; }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string short_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t = "(";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

// ---- the kind registry --------------------------------------------------------------------

struct KindEntry {
  LayerKindInfo info;
  LayerFactory<float> make_f;
  LayerFactory<double> make_d;
};

// Function-local statics: filled during static initialisation, in whatever order the
// registrars run; kept sorted by name.
std::vector<std::unique_ptr<KindEntry>>& registry() {
  static std::vector<std::unique_ptr<KindEntry>> r;
  return r;
}
std::vector<const LayerKindInfo*>& registry_infos() {
  static std::vector<const LayerKindInfo*> r;
  return r;
}

const KindEntry* find_entry(const std::string& name) {
  for (const auto& e : registry())
    if (name == e->info.name) return e.get();
  return nullptr;
}

template <class T>
LayerFactory<T> factory_of(const KindEntry& e);
template <>
LayerFactory<float> factory_of<float>(const KindEntry& e) { return e.make_f; }
template <>
LayerFactory<double> factory_of<double>(const KindEntry& e) { return e.make_d; }

// ---- hooks (fusions 2-4) ----------------------------------------------------------------

// Post hook of a forward gemm: y_block = f(z_block) (y may be z: in place).
template <class T>
void forward_hook_run(void* ctx, std::int64_t i0, std::int64_t j0, std::int64_t rows,
                      std::int64_t cols, T* c, std::int64_t ldc) {
  auto* h = static_cast<ForwardHook<T>*>(ctx);
  activation_forward<T>(h->act, h->alpha, rows, cols, c, ldc, h->y + i0 * h->ldy + j0, h->ldy);
}

// Post hook of a backward dX gemm: c_block = f'(z_block, y_block) * c_block, turning dY of the
// previous layer into its dZ while the block is in cache.
template <class T>
struct BackwardHook {
  Activation act = Activation::linear;
  double alpha = 0.0;
  const T* z = nullptr;
  const T* y = nullptr;
  std::int64_t ld = 0;
  static void run(void* ctx, std::int64_t i0, std::int64_t j0, std::int64_t rows,
                  std::int64_t cols, T* c, std::int64_t ldc) {
    auto* h = static_cast<BackwardHook*>(ctx);
    const std::int64_t off = i0 * h->ld + j0;
    activation_backward<T>(h->act, h->alpha, rows, cols, h->z + off, h->ld, h->y + off, h->ld, c,
                           ldc, c, ldc);
  }
};

}  // namespace

RegisterLayerKind::RegisterLayerKind(LayerKindInfo info, LayerFactory<float> make_f,
                                     LayerFactory<double> make_d) {
  auto e = std::make_unique<KindEntry>();
  e->info = std::move(info);
  e->make_f = make_f;
  e->make_d = make_d;
  auto& r = registry();
  auto at = std::find_if(r.begin(), r.end(), [&](const std::unique_ptr<KindEntry>& x) {
    return std::strcmp(x->info.name, e->info.name) > 0;
  });
  r.insert(at, std::move(e));
  auto& infos = registry_infos();
  infos.clear();
  for (const auto& x : r) infos.push_back(&x->info);
}

template <class T>
const AttrValue& attr(const LayerSpec<T>& s, const char* name) {
  for (const AttrValue& a : s.attrs)
    if (a.name == name) return a;
  throw std::invalid_argument(s.type + " layer without attribute '" + name + "'");
}

template <class T>
const AttrValue* find_attr(const LayerSpec<T>& s, const char* name) {
  for (const AttrValue& a : s.attrs)
    if (a.name == name) return &a;
  return nullptr;
}

template <class T>
void take_params(Layer<T>& l, const LayerSpec<T>& s,
                 const std::vector<std::vector<std::int64_t>>& shapes, std::size_t required,
                 const std::string& where) {
  const KindEntry* kind = find_entry(s.type);
  take_params<T>(l, s, kind ? kind->info.params : std::vector<const char*>{}, shapes, required,
                 where);
}

template <class T>
void take_params(Layer<T>& l, const LayerSpec<T>& s, const std::vector<const char*>& names,
                 const std::vector<std::vector<std::int64_t>>& shapes, std::size_t required,
                 const std::string& where) {
  if (names.size() != shapes.size())
    throw std::logic_error(s.type + ": " + std::to_string(shapes.size()) +
                           " parameter shapes for " +
                           std::to_string(names.size()) + " registered parameter names");
  if (s.params.size() < required || s.params.size() > names.size()) {
    std::string list;
    for (std::size_t i = 0; i < names.size(); ++i)
      list += std::string(i ? ", " : "") + "'" + names[i] + "'" +
              (i >= required ? " (optional)" : "");
    throw std::invalid_argument(where + s.type + " layer takes the parameters " + list +
                                " in this order, got " + std::to_string(s.params.size()));
  }
  for (std::size_t i = 0; i < s.params.size(); ++i) {
    const ParamSpec<T>& ps = s.params[i];
    if (ps.name != names[i])
      throw std::invalid_argument(where + "parameter " + std::to_string(i) + " must be '" +
                                  names[i] + "', got '" + ps.name + "'");
    if (ps.shape != shapes[i])
      throw std::invalid_argument(where + "parameter '" + ps.name + "' must have shape " +
                                  shape_text(shapes[i]) + ", got " + shape_text(ps.shape));
    if (ps.value == nullptr)
      throw std::invalid_argument(where + "parameter '" + ps.name + "' has no array");
    for (double v : {ps.l1, ps.l2})
      if (!(v >= 0.0) || !std::isfinite(v))
        throw std::invalid_argument(where + "parameter '" + ps.name +
                                    "': L1/L2 factors must be finite and >= 0, got " + num(v));
    Param<T> p;
    p.name = ps.name;
    p.w = ps.value;
    p.shape = ps.shape;
    p.n = 1;
    for (std::int64_t d : ps.shape) p.n *= d;
    p.trainable = ps.trainable;
    p.l1 = ps.l1;
    p.l2 = ps.l2;
    for (std::size_t j = 0; j < ps.slots.size() && j < 3; ++j) p.slots[j] = ps.slots[j];
    l.params.push_back(std::move(p));
  }
}

template <class T>
void fuse_activation(const Layer<T>& l, bool z_apart, T* y, std::int64_t ldy,
                     ForwardHook<T>* hook, GemmEpilogue<T>* epi) {
  if (l.act == Activation::relu && !z_apart) {
    epi->act = kGemmActRelu;
  } else if (l.act != Activation::linear && !is_rowwise(l.act)) {
    hook->act = l.act;
    hook->alpha = l.alpha;
    hook->y = y;
    hook->ldy = ldy;
    epi->post = &forward_hook_run<T>;
    epi->post_ctx = hook;
  }
}

template <class T>
void finish_activation(const Layer<T>& l, std::int64_t m, const T* z, T* y, std::int64_t ld) {
  if (is_rowwise(l.act)) activation_forward<T>(l.act, l.alpha, m, ld, z, ld, y, ld);
}

template <class T>
bool keep_preact(const Layer<T>& l) {
  return l.feeds_fused_loss || (l.act != Activation::linear && l.act != Activation::relu &&
                                activation_backward_needs_x(l.act));
}

}  // namespace net

using net::Bytes;
using net::num;
using net::round_up;

// ---- public registry queries --------------------------------------------------------------

const std::vector<const LayerKindInfo*>& layer_kinds() { return net::registry_infos(); }

const LayerKindInfo* find_layer_kind(const std::string& name) {
  const net::KindEntry* e = net::find_entry(name);
  return e ? &e->info : nullptr;
}

std::string layer_kind_names() {
  std::string s;
  for (const LayerKindInfo* k : layer_kinds()) s += (s.empty() ? "" : ", ") + std::string(k->name);
  return s;
}

const char* dtype_name(DType d) {
  switch (d) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::bfloat16: return "bfloat16";
  }
  return "unknown";
}

bool dtype_from_name(const std::string& name, DType* out) {
  for (DType d : {DType::float32, DType::float64, DType::bfloat16})
    if (name == dtype_name(d)) {
      *out = d;
      return true;
    }
  return false;
}

std::string dtype_names() { return "float32, float64, bfloat16"; }

bool attr_in_range(const AttrSchema& a, double v) {
  if (a.type == AttrType::boolean || a.type == AttrType::activation ||
      a.type == AttrType::dtype)
    return true;
  if (!std::isfinite(v)) return false;
  if (a.lo_open ? !(v > a.lo) : !(v >= a.lo)) return false;
  if (a.hi_open ? !(v < a.hi) : !(v <= a.hi)) return false;
  return true;
}

std::string attr_range_text(const AttrSchema& a) {
  const bool lo = std::isfinite(a.lo), hi = std::isfinite(a.hi);
  if (lo && hi)
    return std::string(a.lo_open ? "(" : "[") + net::short_num(a.lo) + ", " +
           net::short_num(a.hi) + (a.hi_open ? ")" : "]");
  if (lo) return std::string(a.lo_open ? "> " : ">= ") + net::short_num(a.lo);
  if (hi) return std::string(a.hi_open ? "< " : "<= ") + net::short_num(a.hi);
  return "finite";
}

// ---- the executor -------------------------------------------------------------------------

template <class T>
struct Network<T>::Impl final : net::GradSink<T> {
  using Layer = net::Layer<T>;
  using Param = net::Param<T>;

  // Executor data per parameter tensor (index = Param::id).
  struct ParamExec {
    Param* p = nullptr;
    OptimParams opt;  // the network's optimizer with this tensor's l1 / l2 folded in
  };
  struct Update {
    double lr = 0.0;
    std::int64_t iteration = 1;
    double u0 = 1.0;
  };

  std::int64_t input_dim = 0, output_dim = 0, num_params = 0, max_row = 0;
  std::vector<std::unique_ptr<Layer>> layers;
  int first_train = 0;  // earliest layer with a trainable parameter (layers.size(): none)
  LossParams loss;        // as given
  LossParams loss_used;   // from_logits when fused
  bool fused = false;
  bool sparse = false;
  bool external = false;          // the caller computes the loss (forward_train / backward_update)
  std::int64_t pending_rows = 0;  // rows of the last forward_train, until backward_update
  OptimParams opt;
  double global_clipnorm = 0.0;
  double* opt_state = nullptr;
  std::vector<MetricParams> metrics;
  std::uint64_t seed = 0;
  std::vector<ParamExec> params;
  Bytes grad_store;
  net::BackwardHook<T> bhook;
  const Update* update = nullptr;  // during backward
  double last_penalty = 0.0;  // the penalty the last step / evaluate added to out[0]

  std::int64_t cap = 0;
  Bytes arena;
  T* g0 = nullptr;
  T* g1 = nullptr;

  explicit Impl(const NetworkSpec<T>& s);
  std::unique_ptr<Layer> make_layer(const LayerSpec<T>& ls, std::size_t index,
                                    const net::SampleShape& in);
  void ensure(std::int64_t m);
  // update_state: train_step only (the layers' state, e.g. moving statistics, advances once
  // per optimizer step; gradients() leaves it as it is).
  void forward(std::int64_t m, const T* x, bool train, std::uint64_t step,
               bool update_state = false);
  const T* output() const { return layers.back()->out; }
  // Loss value sum (grad into g0 scaled by 1/m when want_grad) + metric sums into out[2..].
  double loss_and_metrics(std::int64_t m, const Targets<T>& t, bool want_grad, double* out);
  double weight_sum(std::int64_t m, const Targets<T>& t) const {
    if (t.sw == nullptr) return static_cast<double>(m);
    double w = 0.0;
    for (std::int64_t i = 0; i < m; ++i) w += static_cast<double>(t.sw[i]);
    return w;
  }
  // 1 / the reduction's denominator of sum_i sw_i l_i (Keras: m, 1 or sum_i sw_i; a zero
  // weight sum gives 0, as Keras's divide_no_nan).
  double inverse_divisor(std::int64_t m, double wsum) const {
    switch (loss.reduction) {
      case Reduction::sum: return 1.0;
      case Reduction::mean_with_sample_weight: return wsum != 0.0 ? 1.0 / wsum : 0.0;
      case Reduction::sum_over_batch_size: break;
    }
    return 1.0 / static_cast<double>(m);
  }
  // The batch loss from sum_i sw_i l_i (divided, not multiplied by the inverse: the same
  // rounding as before reductions existed).
  double reduce_loss(double lsum, std::int64_t m, double wsum) const {
    switch (loss.reduction) {
      case Reduction::sum: return lsum;
      case Reduction::mean_with_sample_weight: return wsum != 0.0 ? lsum / wsum : 0.0;
      case Reduction::sum_over_batch_size: break;
    }
    return lsum / static_cast<double>(m);
  }
  // Metric sums of the last forward's outputs into out[2..], sum of weights into out[1].
  void metrics_into(std::int64_t m, const Targets<T>& t, double* out);
  // The optimizer side of a training step: run(up) does forward / loss / backward (each
  // tensor updated as soon as its gradient is complete when `up` is not null); then clipping
  // and the update when it needs every gradient first, and Nadam's u-product.
  template <class Run>
  void optimize(double learning_rate, std::int64_t iteration, Run&& run);
  // Backward pass; with `up` (train_step on element-wise rules) each parameter tensor is
  // updated as soon as its gradient is complete (grad_done); a layer's dX gemm runs before
  // its parameter gradients so it still sees the old weights.
  void backward(std::int64_t m, const Update* up);
  void grad_done(int id) override;
  double penalties() const;  // regularization loss of the current trainable weights
  // Sum of the layers' activity_sum of the last forward (ActivityRegularization).
  double activity() const {
    double a = 0.0;
    for (const auto& l : layers) a += l->activity_sum;
    return a;
  }
  void add_penalty_grads();  // g += l1 sign(w) + 2 l2 w, trainable tensors
  // forward + loss + metrics into out (loss includes the penalties of the weights as they
  // are now), then backward (fused with the update when `up` is not null).
  void run_step(std::int64_t m, const T* x, const Targets<T>& t, std::uint64_t step,
                double* out, const Update* up, bool update_state, T* y_out = nullptr);
};

template <class T>
std::unique_ptr<net::Layer<T>> Network<T>::Impl::make_layer(const LayerSpec<T>& ls,
                                                             std::size_t index,
                                                             const net::SampleShape& in) {
  const std::string where = "layer " + std::to_string(index) + ": ";
  const net::KindEntry* e = net::find_entry(ls.type);
  if (e == nullptr)
    throw std::invalid_argument(where + "unknown layer type '" + ls.type + "' (accepted: " +
                                layer_kind_names() + ")");
  // Attributes against the kind's schema.
  for (const AttrSchema& a : e->info.attrs) {
    const AttrValue* v = nullptr;
    for (const AttrValue& x : ls.attrs)
      if (x.name == a.name) v = &x;
    if (v == nullptr && a.optional) continue;
    if (v == nullptr)
      throw std::invalid_argument(where + ls.type + " layer without attribute '" + a.name + "'");
    if (a.type == AttrType::dtype &&
        dtype_name(static_cast<DType>(v->i)) == std::string("unknown"))
      throw std::invalid_argument(where + "'" + a.name + "' is not a dtype: " +
                                  std::to_string(v->i));
    const double d = a.type == AttrType::real ? v->f : static_cast<double>(v->i);
    if (a.type == AttrType::activation && activation_name(static_cast<Activation>(v->i)) ==
                                              std::string("unknown"))
      throw std::invalid_argument(where + "'" + a.name + "' is not an activation: " +
                                  std::to_string(v->i));
    if (!attr_in_range(a, d))
      throw std::invalid_argument(where + "'" + a.name + "' must be " + attr_range_text(a) +
                                  ", got " + num(d));
  }
  if (e->info.params.empty() && !ls.params.empty())
    throw std::invalid_argument(where + "a " + ls.type + " layer has no parameters, got " +
                                std::to_string(ls.params.size()));
  std::unique_ptr<Layer> l = net::factory_of<T>(*e)(ls, in, where);
  if (l == nullptr) return l;  // identity: dropped from the chain
  if (l->params.size() != ls.params.size())
    throw std::logic_error(ls.type + ": the factory took " + std::to_string(l->params.size()) +
                           " of " + std::to_string(ls.params.size()) + " parameters");
  l->spec_index = static_cast<std::uint32_t>(index);
  l->in_shape = in;
  // Slots of trainable parameters; state.
  const int nslots = optim_num_slots(opt);
  for (std::size_t i = 0; i < l->params.size(); ++i) {
    const ParamSpec<T>& ps = ls.params[i];
    if (!ps.trainable) {
      for (T*& s : l->params[i].slots) s = nullptr;
      continue;
    }
    if (static_cast<int>(ps.slots.size()) != nslots)
      throw std::invalid_argument(where + "parameter '" + ps.name + "': the optimizer needs " +
                                  std::to_string(nslots) + " slot arrays per parameter, got " +
                                  std::to_string(ps.slots.size()));
    for (int j = 0; j < nslots; ++j)
      if (ps.slots[j] == nullptr)
        throw std::invalid_argument(where + "parameter '" + ps.name + "': slot " +
                                    std::to_string(j) + " has no array");
  }
  for (const StateSpec<T>& ss : ls.state) {
    net::State<T> st;
    st.name = ss.name;
    st.w = ss.value;
    st.shape = ss.shape;
    st.n = 1;
    for (std::int64_t d : ss.shape) st.n *= d;
    l->state.push_back(std::move(st));
  }
  return l;
}

template <class T>
Network<T>::Impl::Impl(const NetworkSpec<T>& s) {
  if (s.input_dim < 1)
    throw std::invalid_argument("input_dim must be >= 1, got " + std::to_string(s.input_dim));
  input_dim = s.input_dim;
  loss = s.loss;
  opt = s.optimizer;
  opt.l1 = opt.l2 = 0.0;  // penalties are added per parameter by the executor
  global_clipnorm = s.global_clipnorm;
  if (!(global_clipnorm >= 0.0) || !std::isfinite(global_clipnorm))
    throw std::invalid_argument("global_clipnorm must be >= 0 (0: off), got " +
                                net::num(global_clipnorm));
  opt_state = s.optimizer_state;
  if (opt.kind == Optimizer::nadam && opt_state == nullptr)
    throw std::invalid_argument("nadam needs optimizer_state (its u-product)");
  metrics = s.metrics;
  seed = s.seed;
  external = s.external_loss;
  sparse = loss.kind == Loss::sparse_categorical_crossentropy;
  for (std::size_t k = 0; k < metrics.size(); ++k) {
    const Metric mk = metrics[k].kind;
    const bool msparse = metric_is_sparse(mk);
    if (msparse != sparse)
      throw std::invalid_argument(
          "metric " + std::to_string(k) + " takes " + (msparse ? "integer labels" : "dense targets") +
          " but the loss " + loss_name(loss.kind) + " takes " +
          (sparse ? "integer labels" : "dense targets"));
    if ((mk == Metric::top_k_categorical_accuracy ||
         mk == Metric::sparse_top_k_categorical_accuracy) && metrics[k].k < 1)
      throw std::invalid_argument("metric " + std::to_string(k) + ": k must be >= 1, got " +
                                  std::to_string(metrics[k].k));
  }
  if (!(loss.delta > 0.0) && loss.kind == Loss::huber)
    throw std::invalid_argument("huber delta must be > 0, got " + net::num(loss.delta));

  net::SampleShape shape = net::SampleShape::vec(input_dim);
  for (std::size_t li = 0; li < s.layers.size(); ++li) {
    std::unique_ptr<Layer> l = make_layer(s.layers[li], li, shape);
    if (l == nullptr) continue;
    // Fusion 5: an element-wise activation layer folded into the layer before it (e.g. the
    // relu after a batch_normalization runs in its normalise pass: one pass less each way).
    if (s.layers[li].type == "activation" && !layers.empty() && !net::is_rowwise(l->act) &&
        layers.back()->absorb_activation(l->act, l->alpha))
      continue;
    shape = l->out_shape;
    layers.push_back(std::move(l));
  }
  // A network without parameters (a Normalization, activations, dropout) is legal: it
  // predicts, evaluates and "trains" (the optimizer has nothing to update), as in Keras.
  if (layers.empty())
    throw std::invalid_argument("the network needs at least one layer");
  output_dim = shape.size();

  // Fusion 1: the final softmax / sigmoid with the crossentropy.
  Layer& last = *layers.back();
  if (!external && !loss.from_logits &&
      ((last.act == Activation::softmax && (loss.kind == Loss::categorical_crossentropy ||
                                            loss.kind == Loss::sparse_categorical_crossentropy)) ||
       (last.act == Activation::sigmoid && loss.kind == Loss::binary_crossentropy))) {
    fused = true;
    last.feeds_fused_loss = true;
  }
  loss_used = loss;
  if (fused) loss_used.from_logits = true;

  first_train = static_cast<int>(layers.size());
  for (int k = static_cast<int>(layers.size()) - 1; k >= 0; --k)
    if (layers[k]->has_trainable()) first_train = k;

  std::size_t gbytes = 0;
  for (auto& l : layers) {
    max_row = std::max(max_row, l->out_row());
    for (Param& p : l->params) {
      p.id = static_cast<int>(params.size());
      ParamExec pe;
      pe.p = &p;
      pe.opt = opt;
      pe.opt.l1 = p.l1;
      pe.opt.l2 = p.l2;
      params.push_back(pe);
      num_params += p.n;
      if (p.trainable) gbytes += round_up(static_cast<std::size_t>(p.n) * sizeof(T));
    }
  }
  grad_store = net::alloc_bytes(gbytes);
  std::size_t off = 0;
  for (ParamExec& pe : params) {
    if (!pe.p->trainable) continue;
    pe.p->g = reinterpret_cast<T*>(grad_store.get() + off);
    off += round_up(static_cast<std::size_t>(pe.p->n) * sizeof(T));
  }
}

template <class T>
void Network<T>::Impl::ensure(std::int64_t m) {
  if (m <= cap) return;
  net::ArenaPlan plan;
  for (auto& l : layers) l->layout(m, plan);
  const std::size_t gbytes = static_cast<std::size_t>(m) * static_cast<std::size_t>(max_row) *
                             sizeof(T);
  const std::size_t g_off0 = plan.take(gbytes);
  const std::size_t g_off1 = plan.take(gbytes);
  arena.reset();
  arena = net::alloc_bytes(plan.total());
  unsigned char* base = arena.get();
  for (auto& l : layers) l->bind(base);
  g0 = reinterpret_cast<T*>(base + g_off0);
  g1 = reinterpret_cast<T*>(base + g_off1);
  cap = m;
}

template <class T>
void Network<T>::Impl::forward(std::int64_t m, const T* x, bool train, std::uint64_t step,
                               bool update_state) {
  net::Fwd f;
  f.m = m;
  f.train = train;
  f.seed = seed;
  f.step = step;
  f.update_state = update_state;
  const T* in = x;
  for (auto& l : layers) {
    l->forward(f, in);
    in = l->out;
  }
}

template <class T>
double Network<T>::Impl::loss_and_metrics(std::int64_t m, const Targets<T>& t, bool want_grad,
                                          double* out) {
  const Layer& last = *layers.back();
  const std::int64_t n = output_dim;
  // Loss on the logits when fused (fusion 1).
  const T* pred = fused ? last.preact() : last.out;
  const double scale = inverse_divisor(
      m, loss.reduction == Reduction::mean_with_sample_weight ? weight_sum(m, t) : 0.0);
  T* grad = want_grad ? g0 : nullptr;
  double lsum = 0.0;
  if (external) {
    // the caller computes the loss
  } else if (fused && last.act == Activation::softmax) {
    // The forward pass already computed softmax(logits) into last.out: no exp here.
    if (sparse)
      lsum = softmax_crossentropy_sparse<T, std::int64_t>(m, n, pred, n, last.out, n, t.labels,
                                                           t.sw, scale, grad, n);
    else
      lsum = softmax_crossentropy<T>(m, n, pred, n, last.out, n, t.y, n, t.sw, scale, grad, n,
                                     loss.label_smoothing);
  } else if (sparse) {
    lsum = loss_forward_backward_sparse<T, std::int64_t>(loss_used, m, n, pred, n, t.labels, t.sw,
                                                          scale, grad, n);
  } else {
    lsum = loss_forward_backward<T>(loss_used, m, n, pred, n, t.y, n, t.sw, scale, grad, n);
  }
  metrics_into(m, t, out);
  return lsum;
}

template <class T>
void Network<T>::Impl::metrics_into(std::int64_t m, const Targets<T>& t, double* out) {
  const Layer& last = *layers.back();
  const std::int64_t n = output_dim;
  for (std::size_t k = 0; k < metrics.size(); ++k) {
    if (sparse)
      out[2 + k] += metric_sum_sparse<T, std::int64_t>(metrics[k], m, n, last.out, n, t.labels,
                                                       metrics[k].weighted ? t.sw : nullptr);
    else
      out[2 + k] += metric_sum<T>(metrics[k], m, n, last.out, n, t.y, n,
                                  metrics[k].weighted ? t.sw : nullptr);
  }
  out[1] += weight_sum(m, t);
}

template <class T>
void Network<T>::Impl::backward(std::int64_t m, const Update* up) {
  update = up;
  // G = dL/d(output of layer k); with the fused loss it is dL/d(its pre-activation).
  T* G = g0;
  T* other = g1;
  bool dz_ready = fused;
  for (int k = static_cast<int>(layers.size()) - 1; k >= first_train; --k) {
    Layer& l = *layers[k];
    net::Bwd<T> b;
    b.m = m;
    b.g = G;
    b.spare = other;
    b.dz_ready = dz_ready;
    b.need_dx = k > first_train;
    b.ctx = this;
    GemmEpilogue<T> epi;
    if (b.need_dx) {
      // Fusion 3: the previous layer's activation derivative in this layer's dX gemm.
      const Layer& prev = *layers[k - 1];
      if (prev.act_hookable && prev.act != Activation::linear && !net::is_rowwise(prev.act)) {
        bhook.act = prev.act;
        bhook.alpha = prev.alpha;
        bhook.z = prev.preact();
        bhook.y = prev.out;
        bhook.ld = prev.out_row();
        epi.post = &net::BackwardHook<T>::run;
        epi.post_ctx = &bhook;
        b.dx_epi = &epi;
      }
    }
    T* dx = l.backward(b);
    dz_ready = b.dx_epi_used;
    if (dx == other) std::swap(G, other);
  }
  update = nullptr;
}

template <class T>
void Network<T>::Impl::grad_done(int id) {
  ParamExec& pe = params[id];
  if (update != nullptr) {
    Param& p = *pe.p;
    double u = update->u0;
    optim_update<T>(pe.opt, update->lr, update->iteration, 1.0, p.n, p.w, p.g, p.slots[0],
                    p.slots[1], p.slots[2], &u);
  }
}

template <class T>
double Network<T>::Impl::penalties() const {
  double reg = 0.0;
  for (const ParamExec& pe : params) {
    const Param& p = *pe.p;
    if (p.trainable && (p.l1 != 0.0 || p.l2 != 0.0)) reg += penalty<T>(p.l1, p.l2, p.n, p.w);
  }
  return reg;
}

template <class T>
void Network<T>::Impl::add_penalty_grads() {
  for (ParamExec& pe : params) {
    Param& p = *pe.p;
    if (!p.trainable || (p.l1 == 0.0 && p.l2 == 0.0)) continue;
    const T l1 = static_cast<T>(p.l1), l2x2 = static_cast<T>(2.0 * p.l2);
    T* g = p.g;
    const T* w = p.w;
    for (std::int64_t j = 0; j < p.n; ++j) {
      const T s = w[j] > T(0) ? T(1) : (w[j] < T(0) ? T(-1) : T(0));
      g[j] += l1 * s + l2x2 * w[j];
    }
  }
}

template <class T>
void Network<T>::Impl::run_step(std::int64_t m, const T* x, const Targets<T>& t,
                                std::uint64_t step, double* out, const Update* up,
                                bool update_state, T* y_out) {
  ensure(m);
  for (std::size_t k = 0; k < 2 + metrics.size(); ++k) out[k] = 0.0;
  forward(m, x, true, step, update_state);
  if (y_out != nullptr)  // the step's outputs, before backward reuses any buffer
    std::memcpy(y_out, output(), static_cast<std::size_t>(m * output_dim) * sizeof(T));
  const double lsum = loss_and_metrics(m, t, true, out);
  // The penalties: of the trainable weights (before the update) and of the activities
  // (layer.hpp: activity_sum, per-batch sums) — together what separates loss from data loss.
  last_penalty = penalties() + activity() / static_cast<double>(m);
  out[0] = reduce_loss(lsum, m, out[1]) + last_penalty;
  backward(m, up);
}

template <class T>
Network<T>::Network(const NetworkSpec<T>& spec) : impl_(new Impl(spec)) {}

template <class T>
Network<T>::~Network() = default;

template <class T>
std::int64_t Network<T>::input_dim() const { return impl_->input_dim; }
template <class T>
std::int64_t Network<T>::output_dim() const { return impl_->output_dim; }
template <class T>
std::int64_t Network<T>::num_params() const { return impl_->num_params; }
template <class T>
int Network<T>::num_metrics() const { return static_cast<int>(impl_->metrics.size()); }
template <class T>
bool Network<T>::sparse_targets() const { return impl_->sparse; }
template <class T>
int Network<T>::num_param_tensors() const { return static_cast<int>(impl_->params.size()); }
template <class T>
std::int64_t Network<T>::param_size(int i) const { return impl_->params.at(i).p->n; }
template <class T>
std::int64_t Network<T>::capacity() const { return impl_->cap; }
template <class T>
double Network<T>::last_penalty() const { return impl_->last_penalty; }

template <class T>
template <class Run>
void Network<T>::Impl::optimize(double learning_rate, std::int64_t iteration, Run&& run) {
  Update up;
  up.lr = learning_rate;
  up.iteration = iteration;
  up.u0 = opt_state != nullptr ? *opt_state : 1.0;
  // Every tensor sees the Nadam u-product of the previous step; it advances once per step.
  double u_after = up.u0;
  if (global_clipnorm == 0.0 && opt.clipnorm == 0.0) {
    // Element-wise rules: each tensor is updated during the backward pass, once complete.
    run(&up);
    if (opt.kind == Optimizer::nadam)
      optim_update<T>(opt, learning_rate, iteration, 1.0, 0, nullptr, nullptr, nullptr,
                      nullptr, nullptr, &u_after);
  } else {
    // Norm-based clipping needs every gradient first.
    run(static_cast<const Update*>(nullptr));
    double grad_scale = 1.0;
    if (global_clipnorm > 0.0) {
      double sq = 0.0;  // of the penalised gradients, as Keras measures it
      for (const auto& pe : params)
        if (pe.p->trainable) sq += grad_sq_sum<T>(pe.p->n, pe.p->g, pe.p->w, pe.p->l1, pe.p->l2);
      const double norm = std::sqrt(sq);
      grad_scale = global_clipnorm / std::max(norm, global_clipnorm);  // NaN stays NaN
    }
    for (auto& pe : params) {
      auto& p = *pe.p;
      if (!p.trainable) continue;
      u_after = up.u0;
      optim_update<T>(pe.opt, learning_rate, iteration, grad_scale, p.n, p.w, p.g, p.slots[0],
                      p.slots[1], p.slots[2], &u_after);
    }
  }
  if (opt_state != nullptr && opt.kind == Optimizer::nadam) *opt_state = u_after;
}

template <class T>
void Network<T>::train_step(std::int64_t m, const T* x, const Targets<T>& t,
                            double learning_rate, std::int64_t iteration, double* out,
                            T* y_out) {
  Impl& s = *impl_;
  if (s.external)
    throw std::logic_error("this network's loss is external: train with forward_train + "
                           "backward_update");
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  s.pending_rows = 0;
  s.optimize(learning_rate, iteration, [&](const typename Impl::Update* up) {
    s.run_step(m, x, t, static_cast<std::uint64_t>(iteration), out, up, true, y_out);
  });
}

template <class T>
void Network<T>::forward_train(std::int64_t m, const T* x, std::int64_t iteration, T* outputs,
                               bool update_state) {
  Impl& s = *impl_;
  if (!s.external)
    throw std::logic_error("forward_train / backward_update need a network built with "
                           "external_loss; this one computes its loss in train_step");
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  s.pending_rows = 0;
  s.ensure(m);
  s.forward(m, x, true, static_cast<std::uint64_t>(iteration), update_state);
  std::memcpy(outputs, s.output(), static_cast<std::size_t>(m * s.output_dim) * sizeof(T));
  s.pending_rows = m;
}

template <class T>
void Network<T>::backward_update(std::int64_t m, const Targets<T>& t, const T* dy,
                                 double learning_rate, std::int64_t iteration, double* out) {
  Impl& s = *impl_;
  if (s.pending_rows == 0 || s.pending_rows != m)
    throw std::logic_error("backward_update needs the forward_train of the same batch first (" +
                           std::to_string(m) + " rows, last forward_train: " +
                           std::to_string(s.pending_rows) + ")");
  s.pending_rows = 0;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  s.optimize(learning_rate, iteration, [&](const typename Impl::Update* up) {
    for (std::size_t k = 0; k < 2 + s.metrics.size(); ++k) out[k] = 0.0;
    s.metrics_into(m, t, out);
    s.last_penalty = s.penalties() + s.activity() / static_cast<double>(m);
    out[0] = s.last_penalty;
    std::memcpy(s.g0, dy, static_cast<std::size_t>(m * s.output_dim) * sizeof(T));
    s.backward(m, up);
  });
}

template <class T>
void Network<T>::backward_gradients(std::int64_t m, const Targets<T>& t, const T* dy,
                                    double* out, T* const* grads) {
  Impl& s = *impl_;
  if (s.pending_rows == 0 || s.pending_rows != m)
    throw std::logic_error("backward_gradients needs the forward_train of the same batch "
                           "first (" + std::to_string(m) + " rows, last forward_train: " +
                           std::to_string(s.pending_rows) + ")");
  s.pending_rows = 0;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  for (std::size_t k = 0; k < 2 + s.metrics.size(); ++k) out[k] = 0.0;
  s.metrics_into(m, t, out);
  s.last_penalty = s.penalties() + s.activity() / static_cast<double>(m);
  out[0] = s.last_penalty;
  std::memcpy(s.g0, dy, static_cast<std::size_t>(m * s.output_dim) * sizeof(T));
  s.backward(m, nullptr);
  s.add_penalty_grads();
  for (std::size_t i = 0; i < s.params.size(); ++i) {
    const auto& p = *s.params[i].p;
    const std::size_t bytes = static_cast<std::size_t>(p.n) * sizeof(T);
    if (p.trainable)
      std::memcpy(grads[i], p.g, bytes);
    else
      std::memset(grads[i], 0, bytes);
  }
}

template <class T>
bool Network<T>::external_loss() const { return impl_->external; }

template <class T>
void Network<T>::evaluate(std::int64_t m, const T* x, const Targets<T>& t, double* out,
                          T* outputs) {
  Impl& s = *impl_;
  s.pending_rows = 0;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  for (std::size_t k = 0; k < 2 + s.metrics.size(); ++k) out[k] = 0.0;
  const std::int64_t chunk = m <= s.cap ? m : std::max(s.cap, std::min(m, net::kChunkRows));
  s.ensure(chunk);
  double lsum = 0.0, activity_sum = 0.0;
  for (std::int64_t i0 = 0; i0 < m; i0 += chunk) {
    const std::int64_t rows = std::min(chunk, m - i0);
    Targets<T> tc;
    tc.y = t.y != nullptr ? t.y + i0 * s.output_dim : nullptr;
    tc.labels = t.labels != nullptr ? t.labels + i0 : nullptr;
    tc.sw = t.sw != nullptr ? t.sw + i0 : nullptr;
    s.forward(rows, x + i0 * s.input_dim, false, 0);
    lsum += s.loss_and_metrics(rows, tc, false, out);
    activity_sum += s.activity();
    if (outputs != nullptr)
      std::memcpy(outputs + i0 * s.output_dim, s.output(),
                  static_cast<std::size_t>(rows * s.output_dim) * sizeof(T));
  }
  s.last_penalty = s.penalties() + activity_sum / static_cast<double>(m);
  out[0] = s.reduce_loss(lsum, m, out[1]) + s.last_penalty;
}

template <class T>
void Network<T>::predict(std::int64_t m, const T* x, T* out) {
  Impl& s = *impl_;
  s.pending_rows = 0;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  const std::int64_t chunk = m <= s.cap ? m : std::max(s.cap, std::min(m, net::kChunkRows));
  s.ensure(chunk);
  const std::int64_t n = s.output_dim;
  for (std::int64_t i0 = 0; i0 < m; i0 += chunk) {
    const std::int64_t rows = std::min(chunk, m - i0);
    s.forward(rows, x + i0 * s.input_dim, false, 0);
    std::memcpy(out + i0 * n, s.output(), static_cast<std::size_t>(rows * n) * sizeof(T));
  }
}

template <class T>
void Network<T>::forward(std::int64_t m, const T* x, bool training, std::uint64_t step, T* out) {
  if (!training) {
    predict(m, x, out);
    return;
  }
  Impl& s = *impl_;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  s.pending_rows = 0;
  s.ensure(m);
  s.forward(m, x, true, step, /*update_state=*/false);
  std::memcpy(out, s.output(), static_cast<std::size_t>(m * s.output_dim) * sizeof(T));
}

template <class T>
void Network<T>::gradients(std::int64_t m, const T* x, const Targets<T>& t, std::uint64_t step,
                           double* out, T* const* grads) {
  Impl& s = *impl_;
  if (s.external)
    throw std::logic_error("this network's loss is external: gradients() needs the core's loss");
  s.pending_rows = 0;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  s.run_step(m, x, t, step, out, nullptr, false);
  s.add_penalty_grads();
  for (std::size_t i = 0; i < s.params.size(); ++i) {
    const auto& p = *s.params[i].p;
    const std::size_t bytes = static_cast<std::size_t>(p.n) * sizeof(T);
    if (p.trainable)
      std::memcpy(grads[i], p.g, bytes);
    else
      std::memset(grads[i], 0, bytes);
  }
}

template class Network<float>;
template class Network<double>;

namespace net {
#define LAMINA_NET_INSTANTIATE(T)                                                             \
  template const AttrValue& attr<T>(const LayerSpec<T>&, const char*);                       \
  template const AttrValue* find_attr<T>(const LayerSpec<T>&, const char*);                  \
  template void take_params<T>(Layer<T>&, const LayerSpec<T>&,                              \
                               const std::vector<std::vector<std::int64_t>>&, std::size_t,   \
                               const std::string&);                                          \
  template void take_params<T>(Layer<T>&, const LayerSpec<T>&, const std::vector<const char*>&, \
                               const std::vector<std::vector<std::int64_t>>&, std::size_t,   \
                               const std::string&);                                          \
  template void fuse_activation<T>(const Layer<T>&, bool, T*, std::int64_t, ForwardHook<T>*, \
                                   GemmEpilogue<T>*);                                        \
  template void finish_activation<T>(const Layer<T>&, std::int64_t, const T*, T*,            \
                                     std::int64_t);                                          \
  template bool keep_preact<T>(const Layer<T>&);
LAMINA_NET_INSTANTIATE(float)
LAMINA_NET_INSTANTIATE(double)
#undef LAMINA_NET_INSTANTIATE
}  // namespace net

}  // namespace lamina
