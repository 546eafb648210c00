// The step executor: a network's whole training step (forward, loss, backward,
// regularization, clipping, optimizer update) behind one call.
//
// Contract
// - Built once from a NetworkSpec: a chain of layers, each a registered kind ("dense",
//   "dropout", "activation", ...: layer_kinds()) with its attributes (checked against the
//   kind's schema), its parameter tensors and its non-trainable state. Parameters, optimizer
//   slots and state are NOT owned: the caller (numpy arrays held by the Python layers) keeps
//   them alive, and the executor reads and updates them in place. The constructor validates
//   the spec and throws std::invalid_argument with a message naming the bad value.
// - Parameters: a generic list per layer, {name, value, shape, trainable, l1, l2, slots}; the
//   kind checks names and shapes (dense: "kernel" (in, units), then optionally "bias"
//   (units,)). A trainable parameter has optim_num_slots(optimizer) slot arrays shaped like it;
//   a frozen one (trainable = false) needs none, gets no gradient, no penalty and no update.
//   Parameter tensor i of the network is the i-th entry over all layers in order.
// - Shapes: each layer maps a per-sample shape to a per-sample shape (SampleShape); a batch
//   activation is (m, sample shape) row-major, i.e. (m, row length). Today every sample shape
//   is 1-D.
// - All batch buffers live in one arena sized for `capacity()` rows. A call with m rows grows
//   it when m > capacity() (train_step, gradients) and never shrinks it; predict and evaluate
//   run in row chunks (at most max(capacity(), 1024) rows) so a large inference set does not
//   grow the arena beyond that. In the steady state no call allocates.
// - x is (m, input_dim) row-major, contiguous. Targets: dense `y` (m, output_dim) row-major,
//   or int64 class `labels` (m,) for sparse_categorical_crossentropy; `sw` (m,) per-sample
//   weights or nullptr (= 1). Labels must be in [0, output_dim) (the caller checks).
// - Results written to `out` (2 + num_metrics() doubles): out[0] = sum_i sw_i*l_i / m + the
//   L1/L2 penalties of the trainable parameters (Keras "sum_over_batch_size" plus the
//   regularization losses of trainable weights, weights BEFORE the update); out[1] = sum_i
//   sw_i; out[2 + k] = sum_i sw_i*metric_k(i) computed on the network outputs of the forward
//   pass, or sum_i metric_k(i) (every row weight 1) for a metric with weighted = false
//   (Keras's compiled `metrics` are unweighted, its `weighted_metrics` weighted).
// - Step outputs: train_step and evaluate copy the network outputs of their forward pass
//   (m, output_dim) into `y_out` when it is not null (no extra forward), so the caller can
//   update metrics the core does not compute.
// - Fusion: when the last layer's output activation is a softmax (dense activation or
//   activation layer) and the loss is (sparse_)categorical_crossentropy with from_logits =
//   false, the loss and its gradient are computed by the fused, stable from-logits kernel on
//   the softmax input (no probability clipping); the same for sigmoid + binary_crossentropy.
//   The outputs (metrics, predict) are still the probabilities.
// - Dropout masks: keep(seed, step, layer index in the spec, element index of the (m, row)
//   activation); train_step uses step = iteration, gradients() the given step, predict and
//   evaluate run without dropout.
// - State (e.g. batch_normalization's moving statistics) is updated by train_step only;
//   gradients() runs the training-mode forward without touching it.
// - Backward runs from the last layer down to the earliest layer that has a trainable
//   parameter; nothing before it is differentiated.
// - Penalty gradients (l1*sign(w) + 2*l2*w, sign(0) = 0) are added to the gradients before
//   clipping, as Keras does (the penalty is part of the loss). global_clipnorm rescales all
//   gradients by min(1, global_clipnorm / ||g||) with ||g|| over every trainable parameter in
//   a fixed order; clipnorm / clipvalue / weight decay act per parameter inside optim_update.
// - External loss (NetworkSpec::external_loss): forward_train runs the training-mode forward
//   of train_step (same dropout masks, same state updates) and keeps every activation;
//   backward_update then takes dL/d(outputs) from the caller and runs the rest of train_step
//   (metrics on those outputs, penalties, backward, clipping, update). Bit-identical to
//   train_step when dy equals the gradient the core's loss would have produced.
// - Deterministic: fixed reduction orders everywhere, bit-identical for every thread count.
// - Not thread-safe: the caller serializes calls (the binding holds a mutex).
// - float and double are instantiated.
#pragma once

#include "lamina/activations.hpp"
#include "lamina/losses.hpp"
#include "lamina/optim.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lamina {

// ---- layer kinds: the registry's public face ----------------------------------------------

// Type of a layer attribute. An activation attribute is spelled by its name (activations.hpp)
// in the spec and carried as the Activation value; a dtype attribute by a dtype name
// (dtype_name) and carried as the DType value.
enum class AttrType : int { integer = 0, real, boolean, activation, dtype };

// The dtypes a layer may compute in: its network's float type, or bfloat16 GEMM inputs with
// float32 accumulation in a float32 network (Keras's "mixed_bfloat16" policy).
enum class DType : int { float32 = 0, float64 = 1, bfloat16 = 2 };
// "float32", "float64", "bfloat16"; "unknown" for any other value.
const char* dtype_name(DType d);
// The DType spelled `name`; false when there is none.
bool dtype_from_name(const std::string& name, DType* out);
// "float32, float64, bfloat16": for error messages.
std::string dtype_names();

// One attribute of a kind: its name, type and, for integer / real, the accepted range
// [lo, hi] (lo_open / hi_open make an end exclusive; +-inf: unbounded). An optional
// attribute may be left out of the spec; the kind then reads no value (find_attr: nullptr)
// and applies its own default.
struct AttrSchema {
  const char* name;
  AttrType type;
  double lo;
  double hi;
  bool lo_open;
  bool hi_open;
  bool optional = false;
};

// A registered layer kind: its spec name, its attributes, and its parameter names in spec
// order (the trailing ones may be optional, as dense's bias).
struct LayerKindInfo {
  const char* name = nullptr;
  std::vector<AttrSchema> attrs;
  std::vector<const char*> params;
};

// The registered kinds, sorted by name; nullptr when `name` is unknown.
const std::vector<const LayerKindInfo*>& layer_kinds();
const LayerKindInfo* find_layer_kind(const std::string& name);
// "activation, dense, dropout": the names of layer_kinds(), for error messages.
std::string layer_kind_names();
// "[0, 1)", ">= 1", "any finite number": the range of an attribute, for error messages; and
// whether v lies in it.
std::string attr_range_text(const AttrSchema& a);
bool attr_in_range(const AttrSchema& a, double v);

// ---- the spec ---------------------------------------------------------------------------

// An attribute value as parsed from the spec (integer, boolean and activation in i; real in f).
struct AttrValue {
  std::string name;
  std::int64_t i = 0;
  double f = 0.0;
};

template <class T>
struct ParamSpec {
  std::string name;
  T* value = nullptr;
  std::vector<std::int64_t> shape;
  bool trainable = true;
  double l1 = 0.0, l2 = 0.0;
  std::vector<T*> slots;  // optim_num_slots of them when trainable (may be empty when frozen)
};

// Non-trainable state the layer may update in place (e.g. moving statistics).
template <class T>
struct StateSpec {
  std::string name;
  T* value = nullptr;
  std::vector<std::int64_t> shape;
};

template <class T>
struct LayerSpec {
  std::string type;
  std::vector<AttrValue> attrs;  // one per attribute of the kind's schema (optional: or none)
  std::vector<ParamSpec<T>> params;
  std::vector<StateSpec<T>> state;
};

template <class T>
struct NetworkSpec {
  std::int64_t input_dim = 0;
  std::vector<LayerSpec<T>> layers;  // at least one (a network may have no parameters)
  LossParams loss;
  OptimParams optimizer;  // its l1 / l2 are ignored: regularization is per parameter above
  double global_clipnorm = 0.0;  // 0: off
  double* optimizer_state = nullptr;  // (1,) Nadam's u-product (start 1.0), updated in place
  std::vector<MetricParams> metrics;
  std::uint64_t seed = 0;  // dropout seed
  // The loss is computed by the caller (a Python loss): train_step and gradients refuse,
  // evaluate reports only the penalties in out[0] (and the outputs when asked), and the
  // training step is forward_train + backward_update. `loss` then only says whether the
  // targets are int64 labels (sparse_categorical_crossentropy) for the metrics.
  bool external_loss = false;
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
  std::int64_t num_params() const;  // elements of all parameter tensors (frozen included)
  int num_metrics() const;
  bool sparse_targets() const;  // the loss takes int64 labels
  // Parameter tensors in spec order over all layers (kernel0, bias0, kernel1, ...).
  int num_param_tensors() const;
  std::int64_t param_size(int i) const;
  std::int64_t capacity() const;  // rows the arena holds now
  // The L1/L2 penalty that the last train_step / evaluate / gradients call added to out[0]
  // (of the weights before that step's update); 0 before any call. Lets a caller report the
  // data loss (out[0] - last_penalty()) apart from the regularization, as lamina's History
  // does (data_loss / val_data_loss).
  double last_penalty() const;

  // One training step on (m, input_dim) x, in place on the parameters and slots.
  // iteration >= 1 is the optimizer step and the dropout step. out: 2 + num_metrics().
  void train_step(std::int64_t m, const T* x, const Targets<T>& t, double learning_rate,
                  std::int64_t iteration, double* out, T* y_out = nullptr);
  // Loss and metrics without dropout and without update. out: 2 + num_metrics(). With an
  // external loss out[0] holds the penalties only. `outputs` (m, output_dim), when not null,
  // receives the network outputs.
  void evaluate(std::int64_t m, const T* x, const Targets<T>& t, double* out,
                T* outputs = nullptr);
  // The first half of a training step whose loss the caller computes: the training-mode
  // forward of train_step(iteration) (dropout masks of `iteration`, batch statistics, state
  // updated), outputs (m, output_dim) into `outputs`; the activations stay for
  // backward_update.
  // update_state = false leaves the layers' state alone (as gradients() does).
  void forward_train(std::int64_t m, const T* x, std::int64_t iteration, T* outputs,
                     bool update_state = true);
  // The second half: dy (m, output_dim) is dL/d(outputs) of the batch loss L (already
  // reduced: sample weights and the 1/m of "sum_over_batch_size" included). Runs the metrics
  // on the outputs of forward_train, the penalties, backward, clipping and the optimizer
  // update exactly as train_step. out: 2 + num_metrics(); out[0] = the penalties (weights
  // before the update) + activity penalties, to which the caller adds its loss value.
  // Throws std::logic_error unless the last call was forward_train with the same m.
  void backward_update(std::int64_t m, const Targets<T>& t, const T* dy, double learning_rate,
                       std::int64_t iteration, double* out);
  // As backward_update without the update: the gradients (penalty gradients included) into
  // grads[i] (param_size(i); zeros for a frozen tensor), as gradients() does.
  void backward_gradients(std::int64_t m, const Targets<T>& t, const T* dy, double* out,
                          T* const* grads);
  bool external_loss() const;
  // Network outputs (m, output_dim) into out (row-major, contiguous), no dropout.
  void predict(std::int64_t m, const T* x, T* out);
  // Network outputs (m, output_dim) into out with the layers in training mode (dropout and
  // noise masks of `step`, batch statistics) when `training`, else as predict; nothing is
  // updated (parameters, slots, non-trainable state). A training forward runs all m rows at
  // once (batch statistics span the whole batch) and grows the arena to m rows.
  void forward(std::int64_t m, const T* x, bool training, std::uint64_t step, T* out);
  // Forward with the dropout masks of `step`, loss, backward including penalty gradients, no
  // update. out: 2 + num_metrics() as train_step; grads[i] (param_size(i)) receive the
  // gradient of parameter tensor i (zeros for a frozen one).
  void gradients(std::int64_t m, const T* x, const Targets<T>& t, std::uint64_t step,
                 double* out, T* const* grads);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lamina
