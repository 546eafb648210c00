// Metric sums over a batch (what an epoch accumulates): sum_i sw_i * metric_i.
//
// Contract: cpp/include/lamina/losses.hpp (Metric). Shapes: pred (m, n) row stride ldp; y (m, n)
// row stride ldy or labels (m,); sw (m,) or nullptr. Per-sample values (Keras 3):
// - binary_accuracy: mean_j [(pred > threshold) == (y > 0.5)]
// - categorical_accuracy: argmax(pred) == argmax(y) (first maximum wins, like numpy)
// - sparse_categorical_accuracy: argmax(pred) == label
// - top_k (sparse_top_k): the target t = argmax(y) (label) is in the top k when fewer than k
//   classes have pred strictly greater than pred_t (Keras' in_top_k: ties at the boundary count
//   as in); k >= n always hits.
// - mean_squared_error / mean_absolute_error: mean_j (p - y)^2 / |p - y|.
// One thread, rows summed in order (metrics are O(m n), far below the step's GEMMs).
#include <cmath>
#include <stdexcept>
#include <string>

#include "lamina/losses.hpp"
#include "name_table.hpp"

namespace lamina {

namespace {

constexpr ops_detail::NamedValue<Metric> kMetricNames[] = {
    {"binary_accuracy", Metric::binary_accuracy},
    {"categorical_accuracy", Metric::categorical_accuracy},
    {"sparse_categorical_accuracy", Metric::sparse_categorical_accuracy},
    {"top_k_categorical_accuracy", Metric::top_k_categorical_accuracy},
    {"sparse_top_k_categorical_accuracy", Metric::sparse_top_k_categorical_accuracy},
    {"mean_squared_error", Metric::mean_squared_error},
    {"mse", Metric::mean_squared_error},
    {"mean_absolute_error", Metric::mean_absolute_error},
    {"mae", Metric::mean_absolute_error},
};

template <class T>
std::int64_t argmax(std::int64_t n, const T* r) {
  std::int64_t best = 0;
  for (std::int64_t j = 1; j < n; ++j)
    if (r[j] > r[best]) best = j;
  return best;
}

template <class T>
double in_top_k(std::int64_t n, const T* pr, std::int64_t t, int k) {
  std::int64_t greater = 0;
  const T v = pr[t];
  for (std::int64_t j = 0; j < n; ++j) greater += pr[j] > v ? 1 : 0;
  return greater < k ? 1.0 : 0.0;
}

template <class T>
double row_dense(const MetricParams& p, std::int64_t n, const T* pr, const T* yr) {
  const double inv_n = 1.0 / static_cast<double>(n);
  switch (p.kind) {
    case Metric::binary_accuracy: {
      std::int64_t hits = 0;
      for (std::int64_t j = 0; j < n; ++j)
        hits += ((static_cast<double>(pr[j]) > p.threshold) == (yr[j] > T(0.5))) ? 1 : 0;
      return static_cast<double>(hits) * inv_n;
    }
    case Metric::categorical_accuracy:
      return argmax(n, pr) == argmax(n, yr) ? 1.0 : 0.0;
    case Metric::top_k_categorical_accuracy:
      return in_top_k(n, pr, argmax(n, yr), p.k);
    case Metric::mean_squared_error: {
      double s = 0.0;
      for (std::int64_t j = 0; j < n; ++j) {
        const double e = static_cast<double>(pr[j]) - static_cast<double>(yr[j]);
        s += e * e;
      }
      return s * inv_n;
    }
    case Metric::mean_absolute_error: {
      double s = 0.0;
      for (std::int64_t j = 0; j < n; ++j)
        s += std::fabs(static_cast<double>(pr[j]) - static_cast<double>(yr[j]));
      return s * inv_n;
    }
    default:
      break;
  }
  return 0.0;
}

}  // namespace

bool parse_metric(const char* name, Metric* out) {
  return ops_detail::parse_name(kMetricNames, name, out);
}

const char* metric_name(Metric m) { return ops_detail::name_of(kMetricNames, m); }

const char* metric_names() {
  static const std::string s = ops_detail::names_text(kMetricNames);
  return s.c_str();
}

bool metric_is_sparse(Metric m) {
  return m == Metric::sparse_categorical_accuracy ||
         m == Metric::sparse_top_k_categorical_accuracy;
}

template <class T>
double metric_sum(const MetricParams& p, std::int64_t m, std::int64_t n, const T* pred,
                  std::int64_t ldp, const T* y, std::int64_t ldy, const T* sw) {
  if (metric_is_sparse(p.kind))
    throw std::invalid_argument(std::string(metric_name(p.kind)) +
                                " takes integer labels: use metric_sum_sparse");
  if (m <= 0 || n <= 0) return 0.0;
  double s = 0.0;
  for (std::int64_t i = 0; i < m; ++i) {
    const double v = row_dense<T>(p, n, pred + i * ldp, y + i * ldy);
    s += sw ? static_cast<double>(sw[i]) * v : v;
  }
  return s;
}

template <class T, class L>
double metric_sum_sparse(const MetricParams& p, std::int64_t m, std::int64_t n, const T* pred,
                         std::int64_t ldp, const L* labels, const T* sw) {
  if (!metric_is_sparse(p.kind))
    throw std::invalid_argument(std::string(metric_name(p.kind)) +
                                " takes dense targets: use metric_sum");
  if (m <= 0 || n <= 0) return 0.0;
  double s = 0.0;
  for (std::int64_t i = 0; i < m; ++i) {
    const T* pr = pred + i * ldp;
    const std::int64_t t = static_cast<std::int64_t>(labels[i]);
    const double v = p.kind == Metric::sparse_categorical_accuracy
                         ? (argmax(n, pr) == t ? 1.0 : 0.0)
                         : in_top_k(n, pr, t, p.k);
    s += sw ? static_cast<double>(sw[i]) * v : v;
  }
  return s;
}

template double metric_sum<float>(const MetricParams&, std::int64_t, std::int64_t, const float*,
                                  std::int64_t, const float*, std::int64_t, const float*);
template double metric_sum<double>(const MetricParams&, std::int64_t, std::int64_t,
                                   const double*, std::int64_t, const double*, std::int64_t,
                                   const double*);
#define LAMINA_INSTANTIATE_SPARSE(T, L)                                                        \
  template double metric_sum_sparse<T, L>(const MetricParams&, std::int64_t, std::int64_t,    \
                                          const T*, std::int64_t, const L*, const T*);
LAMINA_INSTANTIATE_SPARSE(float, std::int32_t)
LAMINA_INSTANTIATE_SPARSE(float, std::int64_t)
LAMINA_INSTANTIATE_SPARSE(double, std::int32_t)
LAMINA_INSTANTIATE_SPARSE(double, std::int64_t)
#undef LAMINA_INSTANTIATE_SPARSE

}  // namespace lamina
