// The step executor: a dense network's whole training step (forward, loss, backward,
// regularization, clipping, optimizer update) behind one call.
//
// Contract
// - Built once from a NetworkSpec: a chain of layer records (dense with activation and L1/L2;
//   dropout; standalone activation). Parameters and optimizer slots are NOT owned: the caller
//   (numpy arrays held by the Python layers) keeps them alive, and the executor reads and
//   updates them in place. The constructor validates the spec and throws
//   std::invalid_argument with a message naming the bad value.
// - All batch buffers live in one arena sized for `capacity()` rows. A call with m rows grows
//   it when m > capacity() (train_step, gradients) and never shrinks it; predict and evaluate
//   run in row chunks (at most max(capacity(), 1024) rows) so a large inference set does not
//   grow the arena beyond that. In the steady state no call allocates.
// - x is (m, input_dim) row-major, contiguous. Targets: dense `y` (m, output_dim) row-major,
//   or int64 class `labels` (m,) for sparse_categorical_crossentropy; `sw` (m,) per-sample
//   weights or nullptr (= 1). Labels must be in [0, output_dim) (the caller checks).
// - Results written to `out` (2 + num_metrics() doubles): out[0] = sum_i sw_i*l_i / m + the
//   L1/L2 penalties of all parameters (Keras "sum_over_batch_size" plus the regularization
//   losses, weights BEFORE the update); out[1] = sum_i sw_i; out[2 + k] = sum_i sw_i*metric_k(i)
//   computed on the network outputs of the forward pass.
// - Fusion: when the last op is a softmax (dense activation or activation layer) and the loss
//   is (sparse_)categorical_crossentropy with from_logits = false, the loss and its gradient
//   are computed by the fused, stable from-logits kernel on the softmax input (no probability
//   clipping); the same for sigmoid + binary_crossentropy. The outputs (metrics, predict) are
//   still the probabilities.
// - Dropout masks: keep(seed, step, layer index in the spec, element index of the (m, units)
//   activation); train_step uses step = iteration, gradients() the given step, predict and
//   evaluate run without dropout.
// - Penalty gradients (l1*sign(w) + 2*l2*w, sign(0) = 0) are added to the gradients before
//   clipping, as Keras does (the penalty is part of the loss). global_clipnorm rescales all
//   gradients by min(1, global_clipnorm / ||g||) with ||g|| over every parameter in a fixed
//   order; clipnorm / clipvalue / weight decay act per parameter inside optim_update.
// - Deterministic: fixed reduction orders everywhere, bit-identical for every thread count.
// - Not thread-safe: the caller serializes calls (the binding holds a mutex).
// - float and double are instantiated.
#pragma once

#include "lamina/activations.hpp"
#include "lamina/losses.hpp"
#include "lamina/optim.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace lamina {

enum class LayerKind : int { dense = 0, dropout, activation };

// Metric names as the spec writes them ("sparse_categorical_accuracy", "mean_squared_error" …)
// to losses.hpp's Metric; false when unknown.
bool parse_metric_name(const char* name, Metric* out);
const char* metric_name_of(Metric m);

template <class T>
struct LayerRecord {
  LayerKind kind = LayerKind::dense;
  // dense: in = the previous layer's width (input_dim for the first), out = units.
  std::int64_t units = 0;
  // dense and activation layers.
  Activation activation = Activation::linear;
  double alpha = 0.0;
  // dense parameters: kernel (in, units) row-major, bias (units,) or nullptr.
  T* kernel = nullptr;
  T* bias = nullptr;
  double kernel_l1 = 0.0, kernel_l2 = 0.0, bias_l1 = 0.0, bias_l2 = 0.0;
  // optimizer slots, optim_num_slots(optimizer) of them (unused entries nullptr), shaped like
  // the kernel / bias.
  T* kernel_slots[3] = {nullptr, nullptr, nullptr};
  T* bias_slots[3] = {nullptr, nullptr, nullptr};
  // dropout: 0 <= rate < 1 (rate 0 is the identity and is dropped from the chain).
  double rate = 0.0;
};

template <class T>
struct NetworkSpec {
  std::int64_t input_dim = 0;
  std::vector<LayerRecord<T>> layers;  // at least one dense layer
  LossParams loss;
  OptimParams optimizer;  // its l1 / l2 are ignored: regularization is per layer above
  double global_clipnorm = 0.0;  // 0: off
  double* optimizer_state = nullptr;  // (1,) Nadam's u-product (start 1.0), updated in place
  std::vector<MetricParams> metrics;
  std::uint64_t seed = 0;  // dropout seed
};

// A batch's targets: exactly one of y (dense) / labels (sparse) is set, as the loss needs.
template <class T>
struct Targets {
  const T* y = nullptr;                 // (m, output_dim)
  const std::int64_t* labels = nullptr;  // (m,)
  const T* sw = nullptr;                // (m,) or nullptr
};

template <class T>
class Network {
 public:
  explicit Network(const NetworkSpec<T>& spec);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  std::int64_t input_dim() const;
  std::int64_t output_dim() const;
  std::int64_t num_params() const;  // elements of all kernels and biases
  int num_metrics() const;
  bool sparse_targets() const;  // the loss takes int64 labels
  // Parameter tensors in order kernel0, bias0 (when present), kernel1, ...
  int num_param_tensors() const;
  std::int64_t param_size(int i) const;
  std::int64_t capacity() const;  // rows the arena holds now

  // One training step on (m, input_dim) x, in place on the parameters and slots.
  // iteration >= 1 is the optimizer step and the dropout step. out: 2 + num_metrics().
  void train_step(std::int64_t m, const T* x, const Targets<T>& t, double learning_rate,
                  std::int64_t iteration, double* out);
  // Loss and metrics without dropout and without update. out: 2 + num_metrics().
  void evaluate(std::int64_t m, const T* x, const Targets<T>& t, double* out);
  // Network outputs (m, output_dim) into out (row-major, contiguous), no dropout.
  void predict(std::int64_t m, const T* x, T* out);
  // Forward with the dropout masks of `step`, loss, backward including penalty gradients, no
  // update. out: 2 + num_metrics() as train_step; grads[i] (param_size(i)) receive the
  // gradient of parameter tensor i.
  void gradients(std::int64_t m, const T* x, const Targets<T>& t, std::uint64_t step,
                 double* out, T* const* grads);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lamina
