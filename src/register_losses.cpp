// Bindings of the losses (value + gradient) and the metric sums.
// Thin: check dtype, shape, strides, labels and weights; release the GIL; forward to cpp/ops.
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "lamina/losses.hpp"
#include "ops_bind.hpp"

namespace lamina::bind {

namespace {

using ops::Mat;

std::vector<std::string> loss_names() {
  std::vector<std::string> v;
  for (int i = 0; i <= static_cast<int>(kLastLoss); ++i)
    v.emplace_back(loss_name(static_cast<Loss>(i)));
  v.emplace_back("mse");
  v.emplace_back("mae");
  return v;
}

std::vector<std::string> metric_names() {
  std::vector<std::string> v;
  for (int i = 0; i <= static_cast<int>(Metric::mean_absolute_error); ++i)
    v.emplace_back(metric_name(static_cast<Metric>(i)));
  v.emplace_back("mse");
  v.emplace_back("mae");
  return v;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Checks integer labels (m,) against [0, n); returns 0 for int32, 1 for int64.
int check_labels(const py::array& labels, std::int64_t m, std::int64_t n) {
  int kind;
  if (same_dtype(labels.dtype(), py::dtype::of<std::int32_t>())) kind = 0;
  else if (same_dtype(labels.dtype(), py::dtype::of<std::int64_t>())) kind = 1;
  else
    throw py::type_error("labels must be int32 or int64, got dtype " +
                         std::string(py::str(labels.dtype())));
  if (labels.ndim() != 1 || labels.shape(0) != m)
    throw py::value_error("labels must have shape (" + std::to_string(m) + ",), got " +
                          shape_str(labels));
  if (!(labels.flags() & py::array::c_style)) throw py::value_error("labels must be contiguous");
  for (std::int64_t i = 0; i < m; ++i) {
    const std::int64_t v = kind == 0 ? static_cast<const std::int32_t*>(labels.data())[i]
                                     : static_cast<const std::int64_t*>(labels.data())[i];
    if (v < 0 || v >= n)
      throw py::value_error("label " + std::to_string(v) + " at index " + std::to_string(i) +
                            " is out of range [0, " + std::to_string(n) + ")");
  }
  return kind;
}

const void* check_weights(const py::object& sw_obj, const py::array& pred, std::int64_t m) {
  if (sw_obj.is_none()) return nullptr;
  auto sw = py::reinterpret_borrow<py::array>(sw_obj);
  ops::check_same_dtype(sw, "sample_weight", pred, "y_pred");
  if (sw.ndim() != 1 || sw.shape(0) != m)
    throw py::value_error("sample_weight must have shape (" + std::to_string(m) + ",), got " +
                          shape_str(sw));
  if (!(sw.flags() & py::array::c_style))
    throw py::value_error("sample_weight must be contiguous");
  return sw.data();
}

double do_loss(const py::array& y_true, const py::array& pred, const std::string& name,
               bool from_logits, double delta, const py::object& sw_obj, double scale,
               const py::object& grad_obj, double label_smoothing) {
  LossParams p;
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    throw py::value_error("label_smoothing must be in [0, 1], got " +
                          std::to_string(label_smoothing));
  p.label_smoothing = label_smoothing;
  if (!parse_loss(name.c_str(), &p.kind))
    throw py::value_error("unknown loss '" + name + "'; accepted: " + join(loss_names()));
  p.from_logits = from_logits;
  p.delta = delta;
  if (p.kind == Loss::huber && !(delta > 0.0))
    throw py::value_error("huber delta must be > 0, got " + std::to_string(delta));
  const int kind = ops::float_kind(pred, "y_pred");
  const Mat mp = ops::as_mat(pred, "y_pred", false);
  if (mp.cols < 1) throw py::value_error("y_pred must have at least one column, got shape " +
                                         shape_str(pred));
  const void* sw = check_weights(sw_obj, pred, mp.rows);
  Mat mg;
  if (!grad_obj.is_none()) {
    auto grad = py::reinterpret_borrow<py::array>(grad_obj);
    ops::check_same_dtype(grad, "grad", pred, "y_pred");
    ops::check_same_shape(grad, "grad", pred, "y_pred");
    mg = ops::as_mat(grad, "grad", true);
    ops::check_alias(grad, "grad", pred, "y_pred", true);  // in place: logits -> gradient
    ops::check_alias(grad, "grad", y_true, "y_true", false);
    if (!sw_obj.is_none())
      ops::check_alias(grad, "grad", py::reinterpret_borrow<py::array>(sw_obj), "sample_weight",
                       false);
  }
  const bool sparse_labels = y_true.dtype().kind() == 'i' || y_true.dtype().kind() == 'u';
  if (p.kind == Loss::sparse_categorical_crossentropy && !sparse_labels)
    throw py::type_error("sparse_categorical_crossentropy needs integer labels, got dtype " +
                         std::string(py::str(y_true.dtype())));
  if (sparse_labels) {
    if (p.kind != Loss::sparse_categorical_crossentropy)
      throw py::type_error("loss '" + name + "' needs float targets like y_pred, got dtype " +
                           std::string(py::str(y_true.dtype())));
    const int lk = check_labels(y_true, mp.rows, mp.cols);
    const void* lab = y_true.data();
    ReleaseGil nogil;
    if (kind == 0) {
      auto* pr = static_cast<const float*>(mp.data);
      auto* w = static_cast<const float*>(sw);
      auto* g = static_cast<float*>(mg.data);
      return lk == 0 ? loss_forward_backward_sparse<float, std::int32_t>(
                           p, mp.rows, mp.cols, pr, mp.ld,
                           static_cast<const std::int32_t*>(lab), w, scale, g, mg.ld)
                     : loss_forward_backward_sparse<float, std::int64_t>(
                           p, mp.rows, mp.cols, pr, mp.ld,
                           static_cast<const std::int64_t*>(lab), w, scale, g, mg.ld);
    }
    auto* pr = static_cast<const double*>(mp.data);
    auto* w = static_cast<const double*>(sw);
    auto* g = static_cast<double*>(mg.data);
    return lk == 0 ? loss_forward_backward_sparse<double, std::int32_t>(
                         p, mp.rows, mp.cols, pr, mp.ld, static_cast<const std::int32_t*>(lab),
                         w, scale, g, mg.ld)
                   : loss_forward_backward_sparse<double, std::int64_t>(
                         p, mp.rows, mp.cols, pr, mp.ld, static_cast<const std::int64_t*>(lab),
                         w, scale, g, mg.ld);
  }
  ops::check_same_dtype(y_true, "y_true", pred, "y_pred");
  ops::check_same_shape(y_true, "y_true", pred, "y_pred");
  const Mat my = ops::as_mat(y_true, "y_true", false);
  ReleaseGil nogil;
  if (kind == 0)
    return loss_forward_backward<float>(p, mp.rows, mp.cols, static_cast<const float*>(mp.data),
                                        mp.ld, static_cast<const float*>(my.data), my.ld,
                                        static_cast<const float*>(sw), scale,
                                        static_cast<float*>(mg.data), mg.ld);
  return loss_forward_backward<double>(p, mp.rows, mp.cols, static_cast<const double*>(mp.data),
                                       mp.ld, static_cast<const double*>(my.data), my.ld,
                                       static_cast<const double*>(sw), scale,
                                       static_cast<double*>(mg.data), mg.ld);
}

double do_metric(const py::array& y_true, const py::array& pred, const std::string& name,
                 double threshold, int k, const py::object& sw_obj) {
  MetricParams p;
  if (!parse_metric(name.c_str(), &p.kind))
    throw py::value_error("unknown metric '" + name + "'; accepted: " + join(metric_names()));
  p.threshold = threshold;
  p.k = k;
  if ((p.kind == Metric::top_k_categorical_accuracy ||
       p.kind == Metric::sparse_top_k_categorical_accuracy) && k < 1)
    throw py::value_error("k must be >= 1, got " + std::to_string(k));
  const int kind = ops::float_kind(pred, "y_pred");
  const Mat mp = ops::as_mat(pred, "y_pred", false);
  if (mp.cols < 1) throw py::value_error("y_pred must have at least one column, got shape " +
                                         shape_str(pred));
  const void* sw = check_weights(sw_obj, pred, mp.rows);
  if (metric_is_sparse(p.kind)) {
    const int lk = check_labels(y_true, mp.rows, mp.cols);
    const void* lab = y_true.data();
    ReleaseGil nogil;
    if (kind == 0)
      return lk == 0 ? metric_sum_sparse<float, std::int32_t>(
                           p, mp.rows, mp.cols, static_cast<const float*>(mp.data), mp.ld,
                           static_cast<const std::int32_t*>(lab), static_cast<const float*>(sw))
                     : metric_sum_sparse<float, std::int64_t>(
                           p, mp.rows, mp.cols, static_cast<const float*>(mp.data), mp.ld,
                           static_cast<const std::int64_t*>(lab), static_cast<const float*>(sw));
    return lk == 0 ? metric_sum_sparse<double, std::int32_t>(
                         p, mp.rows, mp.cols, static_cast<const double*>(mp.data), mp.ld,
                         static_cast<const std::int32_t*>(lab), static_cast<const double*>(sw))
                   : metric_sum_sparse<double, std::int64_t>(
                         p, mp.rows, mp.cols, static_cast<const double*>(mp.data), mp.ld,
                         static_cast<const std::int64_t*>(lab), static_cast<const double*>(sw));
  }
  ops::check_same_dtype(y_true, "y_true", pred, "y_pred");
  ops::check_same_shape(y_true, "y_true", pred, "y_pred");
  const Mat my = ops::as_mat(y_true, "y_true", false);
  ReleaseGil nogil;
  if (kind == 0)
    return metric_sum<float>(p, mp.rows, mp.cols, static_cast<const float*>(mp.data), mp.ld,
                             static_cast<const float*>(my.data), my.ld,
                             static_cast<const float*>(sw));
  return metric_sum<double>(p, mp.rows, mp.cols, static_cast<const double*>(mp.data), mp.ld,
                            static_cast<const double*>(my.data), my.ld,
                            static_cast<const double*>(sw));
}

}  // namespace

void register_losses(py::module_& m) {
  m.def("loss_names", &loss_names, "Loss names the core accepts ('mse', 'mae' are aliases).");
  m.def("metric_names", &metric_names, "Metric names the core accepts.");
  m.def("loss_forward_backward", &do_loss, py::arg("y_true"), py::arg("y_pred"),
        py::arg("name"), py::arg("from_logits"), py::arg("delta"), py::arg("sample_weight"),
        py::arg("scale"), py::arg("grad"), py::arg("label_smoothing") = 0.0,
        "Returns sum_i sw_i l_i (double); writes scale * sw_i * dl_i/dy_pred into grad when "
        "not None. y_true: float (m, n) like y_pred, or int32/int64 labels (m,) for "
        "sparse_categorical_crossentropy.");
  m.def("metric_sum", &do_metric, py::arg("y_true"), py::arg("y_pred"), py::arg("name"),
        py::arg("threshold"), py::arg("k"), py::arg("sample_weight"),
        "Returns sum_i sw_i metric_i over the batch.");
}

}  // namespace lamina::bind
