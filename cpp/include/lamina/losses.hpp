// Losses (value and gradient in one pass) and in-core metric counts.
//
// Contract
// - pred is (m, n) row-major (row stride ldp). Targets are either dense (m, n) `y` (ldy) or
//   integer class labels `labels` (m,) for the sparse losses (int32 or int64 overloads).
// - Per-sample loss l_i is the Keras definition averaged over the n outputs of that sample
//   (MSE: mean_j (p - y)^2; crossentropies sum over classes). sw (m,) are per-sample weights or
//   nullptr (= 1).
// - Returns sum_i sw_i * l_i in double (the caller divides by its reduction denominator).
// - grad (m, n, row stride ldg), when not nullptr, receives scale * sw_i * d l_i / d pred_ij.
//   With from_logits, pred holds logits and the gradient is with respect to the logits; the
//   softmax/sigmoid + crossentropy pair is fused and stable (log-sum-exp). grad may be pred
//   itself (same pointer and ld: the logits are overwritten by their gradient), not a partial
//   overlap.
// - Probabilities are clipped to [eps, 1 - eps] with eps = 1e-7 like Keras when !from_logits.
// - Labels out of [0, n) are the caller's job to reject (the bindings check them).
// - Exact per-sample definitions, clipping and gradients: the top of cpp/ops/losses.cpp.
#pragma once

#include <cstdint>

namespace lamina {

enum class Loss : int {
  mean_squared_error = 0,
  mean_absolute_error,
  huber,
  binary_crossentropy,
  categorical_crossentropy,
  sparse_categorical_crossentropy,
  log_cosh,           // mean_j log(cosh(p - y))
  kl_divergence,      // sum_j c(y) log(c(y) / c(p)), c = clip(., eps, 1)
  poisson,            // mean_j p - y log(p + eps)
  hinge,              // mean_j max(1 - y p, 0), y in {0, 1} (whole batch) -> 2 y - 1
  squared_hinge,      // mean_j max(1 - y p, 0)^2, the same label rule
  categorical_hinge,  // max(max_j (1 - y_j) p_j - sum_j y_j p_j + 1, 0)
  cosine_similarity,  // -sum_j l2n(y)_j l2n(p)_j, l2n(x) = x / sqrt(max(sum x^2, 1e-12))
  mean_squared_logarithmic_error,  // mean_j (log1p(max(p, eps)) - log1p(max(y, eps)))^2
  mean_absolute_percentage_error,  // 100 mean_j |y - p| / max(|y|, eps)
};
constexpr Loss kLastLoss = Loss::mean_absolute_percentage_error;

// How the network reduces sum_i sw_i l_i to the batch loss (Keras 3's `reduction`):
// divided by the batch size m, not divided, or divided by sum_i sw_i.
enum class Reduction : int { sum_over_batch_size = 0, sum, mean_with_sample_weight };

bool parse_loss(const char* name, Loss* out);
const char* loss_name(Loss l);
// Every accepted name, aliases in parentheses, for error messages.
const char* loss_names();

struct LossParams {
  Loss kind = Loss::mean_squared_error;
  bool from_logits = false;
  double delta = 1.0;  // huber
  double label_smoothing = 0.0;  // binary / categorical crossentropy: y (1 - ls) + ls / K
                                 // (K = n classes; 2 for binary)
  Reduction reduction = Reduction::sum_over_batch_size;  // the network's; kernels ignore it
};

// Dense targets (every loss but sparse_categorical_crossentropy).
template <class T>
double loss_forward_backward(const LossParams& p, std::int64_t m, std::int64_t n, const T* pred,
                             std::int64_t ldp, const T* y, std::int64_t ldy, const T* sw,
                             double scale, T* grad, std::int64_t ldg);

// Integer labels (sparse_categorical_crossentropy).
template <class T, class L>
double loss_forward_backward_sparse(const LossParams& p, std::int64_t m, std::int64_t n,
                                    const T* pred, std::int64_t ldp, const L* labels,
                                    const T* sw, double scale, T* grad, std::int64_t ldg);

// The executor's fused softmax + categorical crossentropy, given the logits x AND
// probs = softmax(x) from its forward pass (row-wise, max-subtracted), so no exp is needed:
// with M_i = max_j x_ij, lse(x_i) = M_i - log(max_j probs_ij) (the probability at the argmax is
// 1 / sum_j exp(x_ij - M_i)), and
//   dense targets y:  l_i = S_i lse(x_i) - sum_j y_ij x_ij,   d_ij = probs_ij S_i - y_ij,
//                     S_i = sum_j y_ij;
//   labels t:         l_i = lse(x_i) - x_it,                  d_ij = probs_ij - [j == t_i].
// Returns sum_i sw_i l_i; grad = scale * sw_i * d (grad must not alias x or probs). A row with
// a NaN probability gives a NaN loss. Same reduction order rules as the functions above.
template <class T>
double softmax_crossentropy(std::int64_t m, std::int64_t n, const T* x, std::int64_t ldx,
                            const T* probs, std::int64_t ldq, const T* y, std::int64_t ldy,
                            const T* sw, double scale, T* grad, std::int64_t ldg,
                            double label_smoothing = 0.0);
template <class T, class L>
double softmax_crossentropy_sparse(std::int64_t m, std::int64_t n, const T* x, std::int64_t ldx,
                                   const T* probs, std::int64_t ldq, const L* labels,
                                   const T* sw, double scale, T* grad, std::int64_t ldg);

// Metric sums over a batch: returns sum_i sw_i * metric_i (sw may be nullptr).
enum class Metric : int {
  binary_accuracy = 0,       // (pred > threshold) == (y > 0.5), averaged over n
  categorical_accuracy,      // argmax(pred) == argmax(y)
  sparse_categorical_accuracy,  // argmax(pred) == label
  top_k_categorical_accuracy,   // y's argmax among the k largest of pred
  sparse_top_k_categorical_accuracy,
  mean_squared_error,
  mean_absolute_error,
};

struct MetricParams {
  Metric kind = Metric::sparse_categorical_accuracy;
  double threshold = 0.5;
  int k = 5;
  // The network passes the sample weights to metric_sum only when set (Keras's
  // weighted_metrics); an unweighted metric sums over the batch's rows with weight 1.
  bool weighted = true;
};

template <class T>
double metric_sum(const MetricParams& p, std::int64_t m, std::int64_t n, const T* pred,
                  std::int64_t ldp, const T* y, std::int64_t ldy, const T* sw);

template <class T, class L>
double metric_sum_sparse(const MetricParams& p, std::int64_t m, std::int64_t n, const T* pred,
                         std::int64_t ldp, const L* labels, const T* sw);

// ---- helpers (added with the implementation) ----------------------------------------------
// Keras names: "mse"/"mae" aliases are accepted; metric_is_sparse: takes integer labels
// (metric_sum_sparse), the others dense targets (metric_sum). Calling the wrong overload for a
// kind (dense sparse_categorical_crossentropy, sparse mse, ...) throws std::invalid_argument;
// loss_forward_backward_sparse accepts categorical_crossentropy and
// sparse_categorical_crossentropy (same maths, labels as one-hot).
bool parse_metric(const char* name, Metric* out);
const char* metric_name(Metric m);
// Every accepted name, aliases in parentheses, for error messages.
const char* metric_names();
bool metric_is_sparse(Metric m);

}  // namespace lamina
