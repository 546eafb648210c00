// Bindings of the element-wise kernels: activations (forward/backward) and dropout.
// Thin: check dtype, shape, strides, aliasing and values; release the GIL; forward to cpp/ops.
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "lamina/activations.hpp"
#include "lamina/dropout.hpp"
#include "ops_bind.hpp"

namespace lamina::bind {

namespace {

using ops::Mat;

std::vector<std::string> activation_names() {
  std::vector<std::string> v;
  for (int i = 0; i <= static_cast<int>(Activation::log_sigmoid); ++i) {  // the last one
    v.emplace_back(activation_name(static_cast<Activation>(i)));
    if (static_cast<Activation>(i) == Activation::silu) v.emplace_back("swish");
    if (static_cast<Activation>(i) == Activation::hard_silu) v.emplace_back("hard_swish");
  }
  return v;
}

Activation get_activation(const std::string& name) {
  Activation a;
  if (!parse_activation(name.c_str(), &a)) {
    std::string list;
    for (const auto& n : activation_names()) list += (list.empty() ? "" : ", ") + n;
    throw py::value_error("unknown activation '" + name + "'; accepted: " + list);
  }
  return a;
}

void act_forward(const py::array& x, py::array& out, const std::string& name, double alpha) {
  const Activation act = get_activation(name);
  const int kind = ops::float_kind(x, "x");
  ops::check_same_dtype(out, "out", x, "x");
  ops::check_same_shape(out, "out", x, "x");
  const Mat mx = ops::as_mat(x, "x", false);
  const Mat my = ops::as_mat(out, "out", true);
  ops::check_alias(out, "out", x, "x", true);
  ReleaseGil nogil;
  if (kind == 0)
    activation_forward<float>(act, alpha, mx.rows, mx.cols, static_cast<const float*>(mx.data),
                              mx.ld, static_cast<float*>(my.data), my.ld);
  else
    activation_forward<double>(act, alpha, mx.rows, mx.cols,
                               static_cast<const double*>(mx.data), mx.ld,
                               static_cast<double*>(my.data), my.ld);
}

void act_backward(const py::object& x_obj, const py::array& y, const py::array& dy,
                  py::array& out, const std::string& name, double alpha) {
  const Activation act = get_activation(name);
  const int kind = ops::float_kind(y, "y");
  ops::check_same_dtype(dy, "dy", y, "y");
  ops::check_same_dtype(out, "out", y, "y");
  ops::check_same_shape(dy, "dy", y, "y");
  ops::check_same_shape(out, "out", y, "y");
  const Mat my = ops::as_mat(y, "y", false);
  const Mat mdy = ops::as_mat(dy, "dy", false);
  const Mat mo = ops::as_mat(out, "out", true);
  Mat mx;
  py::array x;
  if (!x_obj.is_none()) {
    x = py::reinterpret_borrow<py::array>(x_obj);
    ops::check_same_dtype(x, "x", y, "y");
    ops::check_same_shape(x, "x", y, "y");
    mx = ops::as_mat(x, "x", false);
    ops::check_alias(out, "out", x, "x", false);
  } else if (activation_backward_needs_x(act)) {
    throw py::value_error("activation '" + name + "' needs x for its gradient, got None");
  }
  ops::check_alias(out, "out", dy, "dy", true);
  ops::check_alias(out, "out", y, "y", false);
  ReleaseGil nogil;
  if (kind == 0)
    activation_backward<float>(act, alpha, my.rows, my.cols, static_cast<const float*>(mx.data),
                               mx.ld, static_cast<const float*>(my.data), my.ld,
                               static_cast<const float*>(mdy.data), mdy.ld,
                               static_cast<float*>(mo.data), mo.ld);
  else
    activation_backward<double>(act, alpha, my.rows, my.cols,
                                static_cast<const double*>(mx.data), mx.ld,
                                static_cast<const double*>(my.data), my.ld,
                                static_cast<const double*>(mdy.data), mdy.ld,
                                static_cast<double*>(mo.data), mo.ld);
}

void check_rate(double rate) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw py::value_error("dropout rate must be in [0, 1), got " + std::to_string(rate));
}

std::uint64_t as_u64(const py::int_& v, const char* what) {
  try {
    return v.cast<std::uint64_t>();
  } catch (const py::cast_error&) {
    throw py::value_error(std::string(what) + " must be an integer in [0, 2**64), got " +
                          std::string(py::repr(v)));
  }
}

std::uint32_t as_u32(const py::int_& v, const char* what) {
  try {
    return v.cast<std::uint32_t>();
  } catch (const py::cast_error&) {
    throw py::value_error(std::string(what) + " must be an integer in [0, 2**32), got " +
                          std::string(py::repr(v)));
  }
}

void check_mask(const py::array& mask, std::int64_t n, bool writable) {
  if (!same_dtype(mask.dtype(), py::dtype::of<std::uint8_t>()))
    throw py::type_error("mask must be uint8, got dtype " + std::string(py::str(mask.dtype())));
  if (mask.ndim() != 1 || mask.shape(0) != (n + 7) / 8)
    throw py::value_error("mask must have shape (" + std::to_string((n + 7) / 8) +
                          ",) for " + std::to_string(n) + " elements, got " + shape_str(mask));
  if (!(mask.flags() & py::array::c_style)) throw py::value_error("mask must be contiguous");
  if (writable && !mask.writeable()) throw py::value_error("mask is read-only");
}

void check_flat(const py::array& a, const char* what, bool writable) {
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(what) + " must be C-contiguous, got strides of shape " +
                          shape_str(a));
  if (writable && !a.writeable()) throw py::value_error(std::string(what) + " is read-only");
}

void do_dropout_mask(std::int64_t n, double rate, const py::int_& seed, const py::int_& step,
                     const py::int_& layer, py::array& mask) {
  if (n < 0) throw py::value_error("n must be >= 0, got " + std::to_string(n));
  check_rate(rate);
  const auto s = as_u64(seed, "seed"), t = as_u64(step, "step");
  const auto l = as_u32(layer, "layer");
  check_mask(mask, n, true);
  ReleaseGil nogil;
  dropout_mask(s, t, l, rate, n, static_cast<std::uint8_t*>(mask.mutable_data()));
}

void do_dropout_forward(const py::array& x, py::array& out, double rate, const py::int_& seed,
                        const py::int_& step, const py::int_& layer, py::object mask_obj) {
  check_rate(rate);
  const auto s = as_u64(seed, "seed"), t = as_u64(step, "step");
  const auto l = as_u32(layer, "layer");
  const int kind = ops::float_kind(x, "x");
  ops::check_same_dtype(out, "out", x, "x");
  ops::check_same_shape(out, "out", x, "x");
  check_flat(x, "x", false);
  check_flat(out, "out", true);
  ops::check_alias(out, "out", x, "x", true);
  const std::int64_t n = x.size();
  std::uint8_t* m = nullptr;
  if (!mask_obj.is_none()) {
    auto mask = py::reinterpret_borrow<py::array>(mask_obj);
    check_mask(mask, n, true);
    ops::check_alias(mask, "mask", x, "x", false);
    ops::check_alias(mask, "mask", out, "out", false);
    m = static_cast<std::uint8_t*>(mask.mutable_data());
  }
  ReleaseGil nogil;
  if (kind == 0)
    dropout_forward<float>(s, t, l, rate, n, static_cast<const float*>(x.data()),
                           static_cast<float*>(out.mutable_data()), m);
  else
    dropout_forward<double>(s, t, l, rate, n, static_cast<const double*>(x.data()),
                            static_cast<double*>(out.mutable_data()), m);
}

void do_dropout_backward(const py::array& dy, const py::array& mask, double rate,
                         py::array& out) {
  check_rate(rate);
  const int kind = ops::float_kind(dy, "dy");
  ops::check_same_dtype(out, "out", dy, "dy");
  ops::check_same_shape(out, "out", dy, "dy");
  check_flat(dy, "dy", false);
  check_flat(out, "out", true);
  ops::check_alias(out, "out", dy, "dy", true);
  const std::int64_t n = dy.size();
  check_mask(mask, n, false);
  ops::check_alias(out, "out", mask, "mask", false);
  const auto* m = static_cast<const std::uint8_t*>(mask.data());
  ReleaseGil nogil;
  if (kind == 0)
    dropout_backward<float>(rate, n, m, static_cast<const float*>(dy.data()),
                            static_cast<float*>(out.mutable_data()));
  else
    dropout_backward<double>(rate, n, m, static_cast<const double*>(dy.data()),
                             static_cast<double*>(out.mutable_data()));
}

}  // namespace

void register_ops(py::module_& m) {
  m.def("activation_names", &activation_names,
        "Activation names the core accepts (Keras spelling, 'swish' = 'silu').");
  m.def("activation_forward", &act_forward, py::arg("x"), py::arg("out"), py::arg("name"),
        py::arg("alpha"),
        "out = f(x) for 2-D float arrays with contiguous rows; out may be x.");
  m.def("activation_backward", &act_backward, py::arg("x"), py::arg("y"), py::arg("dy"),
        py::arg("out"), py::arg("name"), py::arg("alpha"),
        "out = dy * f'(x) given x (None when the activation only needs y), y = f(x), dy; "
        "out may be dy.");
  m.def("dropout_mask", &do_dropout_mask, py::arg("n"), py::arg("rate"), py::arg("seed"),
        py::arg("step"), py::arg("layer"), py::arg("mask"),
        "Writes the packed keep bits of n elements into mask ((n + 7) // 8 uint8).");
  m.def("dropout_forward", &do_dropout_forward, py::arg("x"), py::arg("out"), py::arg("rate"),
        py::arg("seed"), py::arg("step"), py::arg("layer"), py::arg("mask"),
        "out = keep ? x / (1 - rate) : 0 over C-contiguous x; packed mask when not None.");
  m.def("dropout_backward", &do_dropout_backward, py::arg("dy"), py::arg("mask"),
        py::arg("rate"), py::arg("out"),
        "out = keep ? dy / (1 - rate) : 0 using a packed mask; out may be dy.");
}

}  // namespace lamina::bind
