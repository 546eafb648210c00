// Optimizer updates: one fused in-place pass over a parameter's contiguous buffers.
//
// Contract
// - w (n,) parameters, g (n,) the loss gradient (without regularization), slots s[0..2] (n,)
//   each as optim_num_slots() says, all contiguous, distinct and owned by the caller (numpy
//   arrays). Unused slot pointers may be null. g is not modified.
// - Keras 3 semantics (keras/src/optimizers/base_optimizer.py `apply` + each `update_step`),
//   in this exact order, per parameter:
//     1. penalty gradient (the L1/L2 penalty l1*sum|w| + l2*sum w^2 is part of the loss):
//          g' = g + l1 * sign(w) + 2 * l2 * w          (sign(0) = 0; w before this step)
//     2. grad_scale (the caller's global_clipnorm factor and/or loss-scale unscaling; it
//        multiplies the whole gradient, penalty included, as Keras' clip_by_global_norm does):
//          g' = g' * grad_scale
//     3. clipnorm (Keras `_clip_by_norm`, per parameter): ||g'|| over this buffer, summed in
//        double in a fixed order; g' = g' * clipnorm / max(||g'||, clipnorm)
//     4. clipvalue: g' = min(max(g', -clipvalue), clipvalue)
//        (Keras 3 allows only one of clipnorm / clipvalue / global_clipnorm; if a caller sets
//        several, they apply in the order above.)
//     5. decoupled weight decay (Keras `_apply_weight_decay`, any optimizer, when
//        weight_decay > 0): w = w - w * weight_decay * lr
//     6. the optimizer's update_step with g', learning rate lr, 1-based `iteration` (Keras'
//        local_step = iterations + 1). Scalar factors (bias corrections, Nadam's schedule)
//        are computed once per call in double, the per-element arithmetic in T.
// - The update is element-wise, so results do not depend on the thread count; the clipnorm
//   norm, grad_sq_sum and penalty reduce over fixed chunks of kOptimChunk elements whose
//   partial sums are added in chunk order, so they do not depend on it either. The loops are
//   compiled per ISA (generic, AVX2, AVX-512; picked by active_isa() on every call); the AVX2
//   and AVX-512 builds contract a*b+c into FMAs, so levels differ in the last bits.
#pragma once

#include <cstdint>

namespace lamina {

enum class Optimizer : int {
  sgd = 0, rmsprop, adam, adamw, adagrad, adamax, nadam, adadelta, lion
};

// "sgd" | "rmsprop" | "adam" | "adamw" | "adagrad" | "adamax" | "nadam" | "adadelta" |
// "lion" (lower case).
bool parse_optimizer(const char* name, Optimizer* out);
// Every accepted name, "sgd, rmsprop, ...", for error messages.
const char* optimizer_names();

struct OptimParams {
  Optimizer kind = Optimizer::sgd;
  double momentum = 0.0;  // sgd, rmsprop
  bool nesterov = false;  // sgd
  double rho = 0.9;       // rmsprop, adadelta
  bool centered = false;  // rmsprop
  double beta_1 = 0.9, beta_2 = 0.999;  // adam family, lion
  double epsilon = 1e-7;
  bool amsgrad = false;  // adam, adamw
  double weight_decay = 0.0;  // decoupled (0: off)
  double l1 = 0.0, l2 = 0.0;  // penalty gradients folded in
  double clipnorm = 0.0, clipvalue = 0.0;  // 0: off
};

// Slots each parameter needs, in this order (absent ones are skipped, the rest packed from
// s0): sgd 1 (momentum; 0 when momentum == 0), rmsprop 1-3 (velocity, momentum if
// momentum > 0, average_grad if centered), adam/adamw 2 (m, v; +1 amsgrad: v_hat), adagrad 1
// (accumulator: the CALLER initialises it, Keras' initial_accumulator_value = 0.1), adamax 2
// (m, u), nadam 2 (m, v), adadelta 2 (accumulated_grad, accumulated_delta_var), lion 1
// (momentum). All other slots start at zero. nadam's u-product is carried by the
// caller in `nadam_u_product` (see below).
int optim_num_slots(const OptimParams& p);

// `nadam_u_product`: Nadam's running product of momentum-cache terms
// u_i = beta_1 * (1 - 0.5 * 0.96^i). On entry: prod_{i < iteration} u_i (1.0 before the first
// step); on exit: prod_{i <= iteration} u_i. Keras keeps one per optimizer and updates it once
// per step: give each parameter's call the value from before the step (or keep one per
// parameter; they stay equal). May be null for the other optimizers; for nadam a null
// pointer means "compute it from iteration" (nadam_u_product_before).
//
// w, g, s0..s2: (n,) contiguous. lr, grad_scale finite; iteration >= 1.
template <class T>
void optim_update(const OptimParams& p, double lr, std::int64_t iteration, double grad_scale,
                  std::int64_t n, T* w, const T* g, T* s0, T* s1, T* s2,
                  double* nadam_u_product);

// prod_{i < iteration} beta_1 * (1 - 0.5 * 0.96^i), multiplied in the same order as (and so
// bit-identical to) a product carried across calls of optim_update from 1.0, for iterations
// up to 2^20 (pow beyond). O(min(iteration, 2^20)): callers that step often carry the product.
double nadam_u_product_before(double beta_1, std::int64_t iteration);

// sum_j g_j^2 in a fixed order (for global_clipnorm and clipnorm), accumulated in double.
template <class T>
double grad_sq_sum(std::int64_t n, const T* g);

// sum_j (g_j + l1 * sign(w_j) + 2 * l2 * w_j)^2, in double, fixed order: the squared norm of
// the penalised gradient, which is what Keras' global_clipnorm measures when the model has
// L1/L2 regularizers. g, w: (n,).
template <class T>
double grad_sq_sum(std::int64_t n, const T* g, const T* w, double l1, double l2);

// Keras' clip_by_global_norm factor: clipnorm / max(sqrt(sq_sum), clipnorm) for a finite
// norm, NaN for a non-finite one (as Keras). Multiply it into every parameter's grad_scale.
double global_clipnorm_scale(double sq_sum, double clipnorm);

// l1 * sum|w| + l2 * sum w^2 in double, fixed order (the reported regularization loss).
template <class T>
double penalty(double l1, double l2, std::int64_t n, const T* w);

// Chunk size (elements) of the fixed-order reductions above.
constexpr std::int64_t kOptimChunk = 16384;

}  // namespace lamina
