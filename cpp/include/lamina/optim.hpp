// Optimizer updates: one fused in-place pass over a parameter's contiguous buffers.
//
// Contract
// - w (n,) parameters, g (n,) the loss gradient (without regularization), slots s[0..2] (n,)
//   each as optim_num_slots() says, all contiguous and owned by the caller (numpy arrays).
// - In one pass per element: g' = g * grad_scale + l1 * sign(w) + 2 * l2 * w (Keras: the
//   penalty l1*sum|w| + l2*sum w^2 is part of the loss); clipvalue clips g' to [-cv, cv];
//   clipnorm rescales g' so its L2 norm (computed first, fixed order) is <= clipnorm;
//   decoupled weight decay w -= lr * weight_decay * w (before the update, like Keras 3);
//   then the optimizer's published rule with learning rate lr at 1-based `iteration`.
// - grad_scale carries global_clipnorm (computed by the caller over all parameters with
//   grad_sq_sum) and any loss scaling; pass 1 otherwise.
// - g is not modified. Results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace lamina {

enum class Optimizer : int { sgd = 0, rmsprop, adam, adamw, adagrad, adamax, nadam };

bool parse_optimizer(const char* name, Optimizer* out);

struct OptimParams {
  Optimizer kind = Optimizer::sgd;
  double momentum = 0.0;  // sgd, rmsprop
  bool nesterov = false;  // sgd
  double rho = 0.9;       // rmsprop
  bool centered = false;  // rmsprop
  double beta_1 = 0.9, beta_2 = 0.999;  // adam family
  double epsilon = 1e-7;
  bool amsgrad = false;  // adam, adamw
  double weight_decay = 0.0;  // decoupled (0: off)
  double l1 = 0.0, l2 = 0.0;  // penalty gradients folded in
  double clipnorm = 0.0, clipvalue = 0.0;  // 0: off
};

// Slots each parameter needs: sgd 1 (momentum; 0 when momentum == 0), rmsprop 1-3
// (velocity, momentum, average_grad), adam/adamw 2 (+1 amsgrad: v_hat), adagrad 1,
// adamax 2, nadam 2. nadam's u-product is carried by the caller in `state` (see below).
int optim_num_slots(const OptimParams& p);

// `nadam_u_product`: Nadam's running product of momentum-cache terms, kept by the caller
// across steps (start at 1.0); updated in place. Unused for the other optimizers.
template <class T>
void optim_update(const OptimParams& p, double lr, std::int64_t iteration, double grad_scale,
                  std::int64_t n, T* w, const T* g, T* s0, T* s1, T* s2,
                  double* nadam_u_product);

// sum_j g_j^2 in a fixed order (for global_clipnorm and clipnorm), accumulated in double.
template <class T>
double grad_sq_sum(std::int64_t n, const T* g);

// l1 * sum|w| + l2 * sum w^2 in double, fixed order (the reported regularization loss).
template <class T>
double penalty(double l1, double l2, std::int64_t n, const T* w);

}  // namespace lamina
