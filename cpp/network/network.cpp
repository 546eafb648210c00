// The step executor (see lamina/network.hpp for the contract).
//
// Layout of one step for ops 0..L-1 (dense / dropout / activation), m rows:
//   forward  : dense  Z = X W + b (one gemm; relu fused in the store, other element-wise
//                     activations in the gemm's post hook while the block is in cache,
//                     softmax / log_softmax row-wise after the gemm); Y = f(Z)
//              dropout Y = X * keep / (1 - rate), packed mask bits kept for backward
//              activation Y = f(X)
//   loss     : value + gradient dL/dY_last (or dL/dlogits when softmax/sigmoid + CE is fused),
//              metrics on Y_last
//   backward : G holds dL/d(output of op k); two ping-pong buffers G0/G1 of m * max_width.
//              dense, from the last to the first: dZ = f'(Z) * G in place (already done in
//              the post hook of the next layer's dX gemm when the activation is element-
//              wise); dX = dZ W^T with the weights before the update (skipped for the first
//              dense: nothing before it has parameters); dW = X^T dZ; db = colsum dZ.
//   update   : element-wise rules (no clipnorm / global_clipnorm): each tensor is updated
//              as soon as its gradient is complete, big kernels inside their dW gemm's post
//              hook strip by strip; otherwise after the backward pass, with the global
//              clipnorm factor. L1/L2 penalty gradients are folded into optim_update.
// Buffers: per op an output Y (m, out); for dense layers whose activation's derivative reads
// its input (or whose output feeds the fused loss) the pre-activation Z apart; per dropout op
// its packed mask. All live in one 64-byte-aligned arena that grows only with m; the
// parameter gradients in one buffer sized at construction.
#include "lamina/network.hpp"

#include "lamina/dropout.hpp"
#include "lamina/gemm.hpp"
#include "lamina/runtime.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace lamina {

namespace {

constexpr std::size_t kAlign = 64;
constexpr std::int64_t kChunkRows = 1024;  // predict / evaluate row chunk when m > capacity
constexpr std::int64_t kFuseMinElements = 65536;  // kernels updated inside their dW gemm

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

// Post hook of a forward gemm: y_block = f(z_block) (y may be z: in place).
template <class T>
struct ForwardHook {
  Activation act = Activation::linear;
  double alpha = 0.0;
  T* y = nullptr;
  std::int64_t ldy = 0;
  static void run(void* ctx, std::int64_t i0, std::int64_t j0, std::int64_t rows,
                  std::int64_t cols, T* c, std::int64_t ldc) {
    auto* h = static_cast<ForwardHook*>(ctx);
    activation_forward<T>(h->act, h->alpha, rows, cols, c, ldc, h->y + i0 * h->ldy + j0, h->ldy);
  }
};

// Post hook of a backward dX gemm: c_block = f'(z_block, y_block) * c_block, turning dY of the
// previous dense layer into its dZ while the block is in cache.
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

// Post hook of a dW gemm when the optimizer update is fused into the backward pass: each
// finished block of dW (still in cache) updates its parameters and slots right away, so the
// gradient never travels to memory and back. Element-wise rules only (no clipnorm, no
// global_clipnorm); every call sees the Nadam u-product from before the step.
template <class T>
struct UpdateHook {
  const OptimParams* opt = nullptr;  // with this parameter's l1 / l2
  double lr = 0.0;
  std::int64_t iteration = 1;
  double u0 = 1.0;
  T* w = nullptr;
  T* s[3] = {nullptr, nullptr, nullptr};
  std::int64_t ld = 0;  // row length of the parameter (= columns of dW)
  void update(std::int64_t off, std::int64_t n, const T* g) const {
    double u = u0;
    optim_update<T>(*opt, lr, iteration, 1.0, n, w + off, g, s[0] ? s[0] + off : nullptr,
                    s[1] ? s[1] + off : nullptr, s[2] ? s[2] + off : nullptr, &u);
  }
  static void run(void* ctx, std::int64_t i0, std::int64_t j0, std::int64_t rows,
                  std::int64_t cols, T* c, std::int64_t ldc) {
    const auto* h = static_cast<const UpdateHook*>(ctx);
    if (cols == h->ld && ldc == h->ld) {  // whole rows: one contiguous span
      h->update(i0 * h->ld, rows * cols, c);
      return;
    }
    for (std::int64_t r = 0; r < rows; ++r) h->update((i0 + r) * h->ld + j0, cols, c + r * ldc);
  }
};

}  // namespace

template <class T>
struct Network<T>::Impl {
  struct Op {
    LayerKind kind = LayerKind::dense;
    std::uint32_t layer_index = 0;  // index in the spec (dropout masks)
    std::int64_t in_w = 0, out_w = 0;
    Activation act = Activation::linear;
    double alpha = 0.0;
    double rate = 0.0;
    // dense
    const T* w = nullptr;  // (in_w, out_w)
    const T* b = nullptr;  // (out_w,) or nullptr
    int kernel_param = -1, bias_param = -1;
    bool keep_z = false;    // Z stored apart from Y
    bool fused_out = false;  // last op whose activation is fused into the loss
    // arena offsets (bytes) and, during a call, the live pointers
    std::size_t z_off = 0, y_off = 0, mask_off = 0;
    const T* in = nullptr;  // input of this op in the current forward
    T* z = nullptr;         // pre-activation (dense, keep_z), else == y
    const T* out = nullptr;  // output in the current forward (dropout at inference: == in)
    std::uint8_t* mask = nullptr;
    ForwardHook<T> fhook;
    BackwardHook<T> bhook;
  };
  struct Param {
    T* w = nullptr;
    std::int64_t n = 0;
    double l1 = 0.0, l2 = 0.0;
    T* slots[3] = {nullptr, nullptr, nullptr};
    T* g = nullptr;  // gradient, in grad_store
    OptimParams opt;  // the network's optimizer with this tensor's l1 / l2 folded in
    UpdateHook<T> hook;
  };

  std::int64_t input_dim = 0, output_dim = 0, num_params = 0, max_w = 0;
  std::vector<Op> ops;
  int first_dense = -1;
  LossParams loss;        // as given
  LossParams loss_used;   // from_logits when fused
  bool fused = false;
  bool sparse = false;
  OptimParams opt;
  double global_clipnorm = 0.0;
  double* opt_state = nullptr;
  std::vector<MetricParams> metrics;
  std::uint64_t seed = 0;
  std::vector<Param> params;
  Bytes grad_store;

  std::int64_t cap = 0;
  Bytes arena;
  T* g0 = nullptr;
  T* g1 = nullptr;

  explicit Impl(const NetworkSpec<T>& s);
  void ensure(std::int64_t m);
  void forward(std::int64_t m, const T* x, bool train, std::uint64_t step);
  const T* output() const { return ops.back().out; }
  // Loss value sum (grad into g0 scaled by 1/m when want_grad) + metric sums into out[2..].
  double loss_and_metrics(std::int64_t m, const Targets<T>& t, bool want_grad, double* out);
  // Backward pass; with `update` (train_step on element-wise rules) each parameter tensor is
  // updated as soon as its gradient is complete (dW in the gemm's post hook, db after
  // bias_grad); the dX gemm of a layer runs before its dW so it still sees the old weights.
  struct Update {
    double lr = 0.0;
    std::int64_t iteration = 1;
    double u0 = 1.0;
  };
  void backward(std::int64_t m, const Update* update);
  double penalties() const;  // regularization loss of the current weights
  void add_penalty_grads();  // g += l1 sign(w) + 2 l2 w
  // forward + loss + metrics into out (loss includes the penalties of the weights as they
  // are now), then backward (fused with the update when `update` is not null).
  void run_step(std::int64_t m, const T* x, const Targets<T>& t, std::uint64_t step,
                double* out, const Update* update);
};

template <class T>
Network<T>::Impl::Impl(const NetworkSpec<T>& s) {
  if (s.input_dim < 1)
    throw std::invalid_argument("input_dim must be >= 1, got " + std::to_string(s.input_dim));
  input_dim = s.input_dim;
  loss = s.loss;
  opt = s.optimizer;
  opt.l1 = opt.l2 = 0.0;  // penalties are added per layer by the executor
  global_clipnorm = s.global_clipnorm;
  if (!(global_clipnorm >= 0.0) || !std::isfinite(global_clipnorm))
    throw std::invalid_argument("global_clipnorm must be >= 0 (0: off), got " +
                                num(global_clipnorm));
  opt_state = s.optimizer_state;
  if (opt.kind == Optimizer::nadam && opt_state == nullptr)
    throw std::invalid_argument("nadam needs optimizer_state (its u-product)");
  metrics = s.metrics;
  seed = s.seed;
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
    throw std::invalid_argument("huber delta must be > 0, got " + num(loss.delta));
  const int nslots = optim_num_slots(opt);

  std::int64_t width = input_dim;
  for (std::size_t li = 0; li < s.layers.size(); ++li) {
    const LayerRecord<T>& r = s.layers[li];
    const std::string where = "layer " + std::to_string(li) + ": ";
    Op op;
    op.kind = r.kind;
    op.layer_index = static_cast<std::uint32_t>(li);
    op.in_w = width;
    op.act = r.activation;
    op.alpha = r.alpha;
    switch (r.kind) {
      case LayerKind::dense: {
        if (r.units < 1)
          throw std::invalid_argument(where + "units must be >= 1, got " + std::to_string(r.units));
        if (r.kernel == nullptr) throw std::invalid_argument(where + "dense layer without kernel");
        const double regs[4] = {r.kernel_l1, r.kernel_l2, r.bias_l1, r.bias_l2};
        for (double v : regs)
          if (!(v >= 0.0) || !std::isfinite(v))
            throw std::invalid_argument(where + "L1/L2 factors must be finite and >= 0, got " +
                                        num(v));
        for (int j = 0; j < nslots; ++j)
          if (r.kernel_slots[j] == nullptr || (r.bias != nullptr && r.bias_slots[j] == nullptr))
            throw std::invalid_argument(where + "the optimizer needs " + std::to_string(nslots) +
                                        " slot arrays per parameter");
        op.out_w = r.units;
        op.w = r.kernel;
        op.b = r.bias;
        if (first_dense < 0) first_dense = static_cast<int>(ops.size());
        Param pk;
        pk.w = r.kernel;
        pk.n = width * r.units;
        pk.l1 = r.kernel_l1;
        pk.l2 = r.kernel_l2;
        for (int j = 0; j < 3; ++j) pk.slots[j] = j < nslots ? r.kernel_slots[j] : nullptr;
        op.kernel_param = static_cast<int>(params.size());
        params.push_back(pk);
        if (r.bias != nullptr) {
          Param pb;
          pb.w = r.bias;
          pb.n = r.units;
          pb.l1 = r.bias_l1;
          pb.l2 = r.bias_l2;
          for (int j = 0; j < 3; ++j) pb.slots[j] = j < nslots ? r.bias_slots[j] : nullptr;
          op.bias_param = static_cast<int>(params.size());
          params.push_back(pb);
        }
        width = r.units;
        break;
      }
      case LayerKind::dropout:
        if (!(r.rate >= 0.0 && r.rate < 1.0))
          throw std::invalid_argument(where + "dropout rate must be in [0, 1), got " + num(r.rate));
        op.rate = r.rate;
        op.out_w = width;
        if (r.rate == 0.0) continue;  // identity
        break;
      case LayerKind::activation:
        op.out_w = width;
        if (r.activation == Activation::linear) continue;  // identity
        break;
      default:
        throw std::invalid_argument(where + "unknown layer kind " +
                                    std::to_string(static_cast<int>(r.kind)));
    }
    ops.push_back(op);
  }
  if (first_dense < 0) throw std::invalid_argument("the network needs at least one dense layer");
  output_dim = width;

  // Fusion of the final softmax / sigmoid with the crossentropy.
  Op& last = ops.back();
  const bool last_has_act = last.kind == LayerKind::dense || last.kind == LayerKind::activation;
  if (last_has_act && !loss.from_logits &&
      ((last.act == Activation::softmax && (loss.kind == Loss::categorical_crossentropy ||
                                            loss.kind == Loss::sparse_categorical_crossentropy)) ||
       (last.act == Activation::sigmoid && loss.kind == Loss::binary_crossentropy))) {
    fused = true;
    last.fused_out = true;
  }
  loss_used = loss;
  if (fused) loss_used.from_logits = true;

  for (Op& op : ops) {
    // Z is kept apart from Y only when the activation's derivative reads its input (or the
    // fused loss reads the logits); otherwise the activation runs in place on the gemm output.
    if (op.kind == LayerKind::dense)
      op.keep_z = op.fused_out || (op.act != Activation::linear && op.act != Activation::relu &&
                                   activation_backward_needs_x(op.act));
    max_w = std::max(max_w, op.out_w);
  }

  for (Param& p : params) {
    p.opt = opt;
    p.opt.l1 = p.l1;
    p.opt.l2 = p.l2;
  }

  std::size_t gbytes = 0;
  for (const Param& p : params) gbytes += round_up(static_cast<std::size_t>(p.n) * sizeof(T));
  grad_store = alloc_bytes(gbytes);
  std::size_t off = 0;
  for (Param& p : params) {
    p.g = reinterpret_cast<T*>(grad_store.get() + off);
    off += round_up(static_cast<std::size_t>(p.n) * sizeof(T));
    num_params += p.n;
  }
}

template <class T>
void Network<T>::Impl::ensure(std::int64_t m) {
  if (m <= cap) return;
  const std::size_t rows = static_cast<std::size_t>(m);
  std::size_t off = 0;
  auto take = [&](std::size_t bytes) {
    const std::size_t at = off;
    off += round_up(bytes);
    return at;
  };
  for (Op& op : ops) {
    const std::size_t n = rows * static_cast<std::size_t>(op.out_w);
    op.y_off = take(n * sizeof(T));
    if (op.kind == LayerKind::dense && op.keep_z) op.z_off = take(n * sizeof(T));
    if (op.kind == LayerKind::dropout) op.mask_off = take((n + 7) / 8);
  }
  const std::size_t g_off0 = take(rows * static_cast<std::size_t>(max_w) * sizeof(T));
  const std::size_t g_off1 = take(rows * static_cast<std::size_t>(max_w) * sizeof(T));
  arena.reset();
  arena = alloc_bytes(off);
  unsigned char* base = arena.get();
  for (Op& op : ops) {
    T* y = reinterpret_cast<T*>(base + op.y_off);
    op.out = y;
    op.z = op.kind == LayerKind::dense && op.keep_z ? reinterpret_cast<T*>(base + op.z_off) : y;
    op.mask = op.kind == LayerKind::dropout ? base + op.mask_off : nullptr;
  }
  g0 = reinterpret_cast<T*>(base + g_off0);
  g1 = reinterpret_cast<T*>(base + g_off1);
  cap = m;
}

template <class T>
void Network<T>::Impl::forward(std::int64_t m, const T* x, bool train, std::uint64_t step) {
  unsigned char* base = arena.get();
  const T* in = x;
  for (Op& op : ops) {
    op.in = in;
    T* y = reinterpret_cast<T*>(base + op.y_off);
    const std::int64_t w = op.out_w;
    switch (op.kind) {
      case LayerKind::dense: {
        GemmEpilogue<T> epi;
        epi.bias = op.b;
        T* c = op.z;  // == y unless keep_z
        if (op.act == Activation::relu && !op.keep_z) {
          epi.act = kGemmActRelu;
        } else if (op.act != Activation::linear && !is_rowwise(op.act)) {
          op.fhook.act = op.act;
          op.fhook.alpha = op.alpha;
          op.fhook.y = y;
          op.fhook.ldy = w;
          epi.post = &ForwardHook<T>::run;
          epi.post_ctx = &op.fhook;
        }
        gemm<T>(false, false, m, w, op.in_w, T(1), in, op.in_w, op.w, w, T(0), c, w, &epi);
        if (is_rowwise(op.act)) activation_forward<T>(op.act, op.alpha, m, w, c, w, y, w);
        op.out = y;
        break;
      }
      case LayerKind::dropout:
        if (train) {
          dropout_forward<T>(seed, step, op.layer_index, op.rate, m * w, in, y, op.mask);
          op.out = y;
        } else {
          op.out = in;
        }
        break;
      case LayerKind::activation:
        activation_forward<T>(op.act, op.alpha, m, w, in, w, y, w);
        op.out = y;
        break;
    }
    in = op.out;
  }
}

template <class T>
double Network<T>::Impl::loss_and_metrics(std::int64_t m, const Targets<T>& t, bool want_grad,
                                          double* out) {
  const Op& last = ops.back();
  const std::int64_t n = output_dim;
  // Loss on the logits when fused: the dense layer's Z, or the activation layer's input.
  const T* pred = last.out;
  if (fused) pred = last.kind == LayerKind::dense ? last.z : last.in;
  const double scale = 1.0 / static_cast<double>(m);
  T* grad = want_grad ? g0 : nullptr;
  double lsum;
  if (fused && last.act == Activation::softmax) {
    // The forward pass already computed softmax(logits) into last.out: no exp here.
    if (sparse)
      lsum = softmax_crossentropy_sparse<T, std::int64_t>(m, n, pred, n, last.out, n, t.labels,
                                                           t.sw, scale, grad, n);
    else
      lsum = softmax_crossentropy<T>(m, n, pred, n, last.out, n, t.y, n, t.sw, scale, grad, n);
  } else if (sparse) {
    lsum = loss_forward_backward_sparse<T, std::int64_t>(loss_used, m, n, pred, n, t.labels, t.sw,
                                                          scale, grad, n);
  } else {
    lsum = loss_forward_backward<T>(loss_used, m, n, pred, n, t.y, n, t.sw, scale, grad, n);
  }
  for (std::size_t k = 0; k < metrics.size(); ++k) {
    if (sparse)
      out[2 + k] += metric_sum_sparse<T, std::int64_t>(metrics[k], m, n, last.out, n, t.labels,
                                                       t.sw);
    else
      out[2 + k] += metric_sum<T>(metrics[k], m, n, last.out, n, t.y, n, t.sw);
  }
  double wsum = 0.0;
  if (t.sw != nullptr) {
    for (std::int64_t i = 0; i < m; ++i) wsum += static_cast<double>(t.sw[i]);
  } else {
    wsum = static_cast<double>(m);
  }
  out[1] += wsum;
  return lsum;
}

template <class T>
void Network<T>::Impl::backward(std::int64_t m, const Update* update) {
  // G = dL/d(output of op k); with a fused final op it is already dL/d(its pre-activation).
  T* G = g0;
  T* other = g1;
  int k = static_cast<int>(ops.size()) - 1;
  bool act_done = fused;  // G of op k already went through its activation's derivative
  if (fused && ops[k].kind == LayerKind::activation) {
    --k;  // G is dL/d(input of the activation layer) = dL/d(output of op k - 1)
    act_done = false;
  }
  for (; k >= first_dense; --k) {
    Op& op = ops[k];
    const std::int64_t w = op.out_w;
    switch (op.kind) {
      case LayerKind::dense: {
        if (!act_done && op.act != Activation::linear)
          activation_backward<T>(op.act, op.alpha, m, w, op.z, w, op.out, w, G, w, G, w);
        act_done = false;
        T* dx = nullptr;
        if (k > first_dense) {
          // dX = dZ W^T (m, in_w) with the weights before the update; when the previous op is
          // a dense layer with an element-wise activation, its derivative runs in the gemm's
          // post hook while the block is in cache.
          GemmEpilogue<T> epi;
          Op& prev = ops[k - 1];
          if (prev.kind == LayerKind::dense && prev.act != Activation::linear &&
              !is_rowwise(prev.act)) {
            prev.bhook.act = prev.act;
            prev.bhook.alpha = prev.alpha;
            prev.bhook.z = prev.z;
            prev.bhook.y = prev.out;
            prev.bhook.ld = op.in_w;
            epi.post = &BackwardHook<T>::run;
            epi.post_ctx = &prev.bhook;
            act_done = true;
          }
          gemm<T>(false, true, m, op.in_w, w, T(1), G, w, op.w, w, T(0), other, op.in_w, &epi);
          dx = other;
        }
        // dW = X^T dZ (in_w, w), then db = sum over rows of dZ; each updated right away when
        // the update is fused.
        Param& pk = params[op.kernel_param];
        GemmEpilogue<T> wepi;
        // Small kernels stay in cache anyway: one update call after the gemm is cheaper than
        // one per finished strip (each call computes its scalar factors).
        const bool fuse = update != nullptr && pk.n >= kFuseMinElements;
        if (fuse) {
          pk.hook.opt = &pk.opt;
          pk.hook.lr = update->lr;
          pk.hook.iteration = update->iteration;
          pk.hook.u0 = update->u0;
          pk.hook.w = pk.w;
          for (int j = 0; j < 3; ++j) pk.hook.s[j] = pk.slots[j];
          pk.hook.ld = w;
          wepi.post = &UpdateHook<T>::run;
          wepi.post_ctx = &pk.hook;
        }
        gemm<T>(true, false, op.in_w, w, m, T(1), op.in, op.in_w, G, w, T(0), pk.g, w, &wepi);
        if (update != nullptr && !fuse) {
          double u = update->u0;
          optim_update<T>(pk.opt, update->lr, update->iteration, 1.0, pk.n, pk.w, pk.g,
                          pk.slots[0], pk.slots[1], pk.slots[2], &u);
        }
        if (op.bias_param >= 0) {
          Param& pb = params[op.bias_param];
          bias_grad<T>(m, w, G, w, T(0), pb.g);
          if (update != nullptr) {
            double u = update->u0;
            optim_update<T>(pb.opt, update->lr, update->iteration, 1.0, pb.n, pb.w, pb.g,
                            pb.slots[0], pb.slots[1], pb.slots[2], &u);
          }
        }
        if (dx != nullptr) std::swap(G, other);
        break;
      }
      case LayerKind::dropout:
        dropout_backward<T>(op.rate, m * w, op.mask, G, G);
        break;
      case LayerKind::activation:
        activation_backward<T>(op.act, op.alpha, m, w, op.in, w, op.out, w, G, w, G, w);
        break;
    }
  }
}

template <class T>
double Network<T>::Impl::penalties() const {
  double reg = 0.0;
  for (const Param& p : params)
    if (p.l1 != 0.0 || p.l2 != 0.0) reg += penalty<T>(p.l1, p.l2, p.n, p.w);
  return reg;
}

template <class T>
void Network<T>::Impl::add_penalty_grads() {
  for (Param& p : params) {
    if (p.l1 == 0.0 && p.l2 == 0.0) continue;
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
                                std::uint64_t step, double* out, const Update* update) {
  ensure(m);
  for (std::size_t k = 0; k < 2 + metrics.size(); ++k) out[k] = 0.0;
  forward(m, x, true, step);
  const double lsum = loss_and_metrics(m, t, true, out);
  out[0] = lsum / static_cast<double>(m) + penalties();  // weights before the update
  backward(m, update);
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
std::int64_t Network<T>::param_size(int i) const { return impl_->params.at(i).n; }
template <class T>
std::int64_t Network<T>::capacity() const { return impl_->cap; }

template <class T>
void Network<T>::train_step(std::int64_t m, const T* x, const Targets<T>& t,
                            double learning_rate, std::int64_t iteration, double* out) {
  Impl& s = *impl_;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  typename Impl::Update up;
  up.lr = learning_rate;
  up.iteration = iteration;
  up.u0 = s.opt_state != nullptr ? *s.opt_state : 1.0;
  // Every tensor sees the Nadam u-product of the previous step; it advances once per step.
  double u_after = up.u0;
  if (s.global_clipnorm == 0.0 && s.opt.clipnorm == 0.0) {
    // Element-wise rules: the update is fused into the backward pass.
    s.run_step(m, x, t, static_cast<std::uint64_t>(iteration), out, &up);
    if (s.opt.kind == Optimizer::nadam)
      optim_update<T>(s.opt, learning_rate, iteration, 1.0, 0, nullptr, nullptr, nullptr,
                      nullptr, nullptr, &u_after);
  } else {
    // Norm-based clipping needs every gradient first.
    s.run_step(m, x, t, static_cast<std::uint64_t>(iteration), out, nullptr);
    double grad_scale = 1.0;
    if (s.global_clipnorm > 0.0) {
      double sq = 0.0;  // of the penalised gradients, as Keras measures it
      for (const auto& p : s.params) sq += grad_sq_sum<T>(p.n, p.g, p.w, p.l1, p.l2);
      const double norm = std::sqrt(sq);
      grad_scale = s.global_clipnorm / std::max(norm, s.global_clipnorm);  // NaN stays NaN
    }
    for (auto& p : s.params) {
      u_after = up.u0;
      optim_update<T>(p.opt, learning_rate, iteration, grad_scale, p.n, p.w, p.g, p.slots[0],
                      p.slots[1], p.slots[2], &u_after);
    }
  }
  if (s.opt_state != nullptr && s.opt.kind == Optimizer::nadam) *s.opt_state = u_after;
}

template <class T>
void Network<T>::evaluate(std::int64_t m, const T* x, const Targets<T>& t, double* out) {
  Impl& s = *impl_;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  for (std::size_t k = 0; k < 2 + s.metrics.size(); ++k) out[k] = 0.0;
  const std::int64_t chunk = m <= s.cap ? m : std::max(s.cap, std::min(m, kChunkRows));
  s.ensure(chunk);
  double lsum = 0.0;
  for (std::int64_t i0 = 0; i0 < m; i0 += chunk) {
    const std::int64_t rows = std::min(chunk, m - i0);
    Targets<T> tc;
    tc.y = t.y != nullptr ? t.y + i0 * s.output_dim : nullptr;
    tc.labels = t.labels != nullptr ? t.labels + i0 : nullptr;
    tc.sw = t.sw != nullptr ? t.sw + i0 : nullptr;
    s.forward(rows, x + i0 * s.input_dim, false, 0);
    lsum += s.loss_and_metrics(rows, tc, false, out);
  }
  out[0] = lsum / static_cast<double>(m) + s.penalties();
}

template <class T>
void Network<T>::predict(std::int64_t m, const T* x, T* out) {
  Impl& s = *impl_;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  const std::int64_t chunk = m <= s.cap ? m : std::max(s.cap, std::min(m, kChunkRows));
  s.ensure(chunk);
  const std::int64_t n = s.output_dim;
  for (std::int64_t i0 = 0; i0 < m; i0 += chunk) {
    const std::int64_t rows = std::min(chunk, m - i0);
    s.forward(rows, x + i0 * s.input_dim, false, 0);
    std::memcpy(out + i0 * n, s.output(), static_cast<std::size_t>(rows * n) * sizeof(T));
  }
}

template <class T>
void Network<T>::gradients(std::int64_t m, const T* x, const Targets<T>& t, std::uint64_t step,
                           double* out, T* const* grads) {
  Impl& s = *impl_;
  ScopedFlushDenormals ftz;  // subnormals are flushed (runtime.hpp)
  s.run_step(m, x, t, step, out, nullptr);
  s.add_penalty_grads();
  for (std::size_t i = 0; i < s.params.size(); ++i)
    std::memcpy(grads[i], s.params[i].g, static_cast<std::size_t>(s.params[i].n) * sizeof(T));
}

template class Network<float>;
template class Network<double>;

}  // namespace lamina
