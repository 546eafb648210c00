// Activations, forward and backward, element-wise over (rows, cols) row-major buffers.
//
// Contract
// - Forward: y = f(x) for x, y (rows, cols) with row strides ldx, ldy; y may equal x (in place).
//   softmax / log_softmax act on each row (subtracting the row max first).
// - Backward: dx = dy * f'(x), given x, y = f(x) and dy (all (rows, cols)); each activation
//   reads what it needs (relu/sigmoid/tanh/softmax use y; others may use x). dx may alias dy.
//   For softmax: dx_i = y_i * (dy_i - sum_j dy_j y_j) per row.
// - relu'(0) = 0. `alpha` is leaky_relu's slope (Keras default 0.2 is the caller's business) and
//   elu's alpha; other activations ignore it.
// - Stable for |x| up to 1e4 in float32 and float64: no inf/NaN from exp overflow.
// - float and double are instantiated.
#pragma once

#include <cstdint>

namespace lamina {

enum class Activation : int {
  linear = 0,
  sigmoid,
  tanh,
  relu,
  leaky_relu,
  elu,
  selu,
  gelu,       // exact: x * Phi(x)
  gelu_tanh,  // tanh approximation
  softplus,
  softsign,
  silu,       // also "swish"
  hard_sigmoid,  // Keras 3: relu6(x + 3) / 6
  softmax,
  log_softmax,
  relu6,        // min(max(x, 0), 6)
  hard_silu,    // also "hard_swish": x * relu6(x + 3) / 6
  mish,         // x * tanh(softplus(x))
  log_sigmoid,  // -softplus(-x); the last one (src/register_ops.cpp lists up to it)
};

// Parses a Keras name ("relu", "swish", "gelu" …); returns false when unknown.
bool parse_activation(const char* name, Activation* out);
const char* activation_name(Activation a);
// Every accepted name, "linear, sigmoid, ..., silu (swish), ...", for error messages.
const char* activation_names();

template <class T>
void activation_forward(Activation act, double alpha, std::int64_t rows, std::int64_t cols,
                        const T* x, std::int64_t ldx, T* y, std::int64_t ldy);

template <class T>
void activation_backward(Activation act, double alpha, std::int64_t rows, std::int64_t cols,
                         const T* x, std::int64_t ldx, const T* y, std::int64_t ldy,
                         const T* dy, std::int64_t lddy, T* dx, std::int64_t lddx);

// ---- helpers (added with the implementation) ----------------------------------------------
// Whether activation_backward reads x. When false, x may be nullptr (relu, sigmoid, tanh,
// linear, softmax, log_softmax use y only), so an executor can run the forward in place.
bool activation_backward_needs_x(Activation a);
// softmax / log_softmax: each output depends on its whole row (cols must be the class axis).
bool activation_is_rowwise(Activation a);

// The plain reference loops (std:: maths, one thread): same contract, used as the oracle of
// the per-ISA fast paths in tests. activation_forward/backward may differ from them by a few
// ulp on AVX2/AVX-512 (vector exp/erfc, see cpp/ops/activations_simd.hpp); on generic they are
// the same code. Every path maps NaN to NaN (numpy semantics).
template <class T>
void activation_forward_reference(Activation act, double alpha, std::int64_t rows,
                                  std::int64_t cols, const T* x, std::int64_t ldx, T* y,
                                  std::int64_t ldy);
template <class T>
void activation_backward_reference(Activation act, double alpha, std::int64_t rows,
                                   std::int64_t cols, const T* x, std::int64_t ldx, const T* y,
                                   std::int64_t ldy, const T* dy, std::int64_t lddy, T* dx,
                                   std::int64_t lddx);

}  // namespace lamina
