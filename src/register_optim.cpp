// Bindings for the fused optimizer updates (lamina/optim.hpp): check, release the GIL, forward.
#include "bindings.hpp"

#include "lamina/optim.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lamina::bind {
namespace {

std::string num_str(double x) { return py::str(py::float_(x)).cast<std::string>(); }

Optimizer parse_name(const std::string& name) {
  Optimizer kind;
  if (!parse_optimizer(name.c_str(), &kind))
    throw py::value_error("unknown optimizer '" + name + "': expected one of " +
                          optimizer_names());
  return kind;
}

void check_finite(const char* what, double x) {
  if (!std::isfinite(x))
    throw py::value_error(std::string(what) + " must be finite, got " + num_str(x));
}

void check_range(const char* what, double x, double lo, double hi, bool hi_open) {
  const bool ok = std::isfinite(x) && x >= lo && (hi_open ? x < hi : x <= hi);
  if (!ok)
    throw py::value_error(std::string(what) + " must be in [" + num_str(lo) + ", " + num_str(hi) +
                          (hi_open ? ")" : "]") + ", got " + num_str(x));
}

// A numpy array of float32/float64, C-contiguous (and writeable when `out`).
py::array as_float_array(const py::object& obj, const std::string& what, bool out) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(what + " must be a numpy.ndarray, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  py::array a = py::reinterpret_borrow<py::array>(obj);
  const bool f32 = same_dtype(a.dtype(), py::dtype::of<float>());
  const bool f64 = same_dtype(a.dtype(), py::dtype::of<double>());
  if (!f32 && !f64)
    throw py::type_error(what + " must have dtype float32 or float64, got " +
                         py::str(a.dtype()).cast<std::string>());
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(what + " must be C-contiguous (got strides " +
                          py::str(py::tuple(a.attr("strides"))).cast<std::string>() +
                          " for shape " + shape_str(a) + ")");
  if (out && !a.writeable())
    throw py::value_error(what + " must be writeable (it is updated in place)");
  return a;
}

void check_same(const py::array& ref, const std::string& ref_name, const py::array& a,
                const std::string& what) {
  if (!same_dtype(a.dtype(), ref.dtype()))
    throw py::type_error(what + " has dtype " + py::str(a.dtype()).cast<std::string>() + " but " +
                         ref_name + " has dtype " + py::str(ref.dtype()).cast<std::string>());
  bool same = a.ndim() == ref.ndim();
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == ref.shape(i);
  if (!same)
    throw py::value_error(what + " has shape " + shape_str(a) + " but " + ref_name +
                          " has shape " + shape_str(ref));
}

bool overlaps(const py::array& a, const py::array& b) {
  if (a.nbytes() == 0 || b.nbytes() == 0) return false;
  auto pa = reinterpret_cast<std::uintptr_t>(a.data());
  auto pb = reinterpret_cast<std::uintptr_t>(b.data());
  return pa < pb + static_cast<std::uintptr_t>(b.nbytes()) &&
         pb < pa + static_cast<std::uintptr_t>(a.nbytes());
}

struct Hyper {
  double momentum, rho, beta_1, beta_2, epsilon, weight_decay;
  bool nesterov, centered, amsgrad;
};

OptimParams make_params(const std::string& name, const Hyper& h) {
  OptimParams p;
  p.kind = parse_name(name);
  check_range("momentum", h.momentum, 0.0, 1.0, false);
  check_range("rho", h.rho, 0.0, 1.0, false);
  check_range("beta_1", h.beta_1, 0.0, 1.0, true);
  check_range("beta_2", h.beta_2, 0.0, 1.0, true);
  check_finite("epsilon", h.epsilon);
  if (h.epsilon < 0) throw py::value_error("epsilon must be >= 0, got " + num_str(h.epsilon));
  check_finite("weight_decay", h.weight_decay);
  if (h.weight_decay < 0)
    throw py::value_error("weight_decay must be >= 0, got " + num_str(h.weight_decay));
  p.momentum = h.momentum;
  p.nesterov = h.nesterov;
  p.rho = h.rho;
  p.centered = h.centered;
  p.beta_1 = h.beta_1;
  p.beta_2 = h.beta_2;
  p.epsilon = h.epsilon;
  p.amsgrad = h.amsgrad;
  p.weight_decay = h.weight_decay;
  return p;
}

double check_clip(const char* what, const py::object& v) {
  if (v.is_none()) return 0.0;
  double x;
  try {
    x = v.cast<double>();
  } catch (const py::cast_error&) {
    throw py::type_error(std::string(what) + " must be a number or None, got " +
                         py::repr(v).cast<std::string>());
  }
  if (!(std::isfinite(x) && x > 0))
    throw py::value_error(std::string(what) + " must be a finite number > 0 or None, got " +
                          num_str(x));
  return x;
}

void check_penalty(double l1, double l2) {
  if (!(std::isfinite(l1) && l1 >= 0))
    throw py::value_error("l1 must be finite and >= 0, got " + num_str(l1));
  if (!(std::isfinite(l2) && l2 >= 0))
    throw py::value_error("l2 must be finite and >= 0, got " + num_str(l2));
}

template <class T>
void update_typed(const OptimParams& p, double lr, std::int64_t it, double gs, py::array& w,
                  const py::array& g, std::vector<py::array>& slots, double* u) {
  T* s[3] = {nullptr, nullptr, nullptr};
  for (std::size_t i = 0; i < slots.size(); ++i) s[i] = static_cast<T*>(slots[i].mutable_data());
  T* wp = static_cast<T*>(w.mutable_data());
  const T* gp = static_cast<const T*>(g.data());
  const std::int64_t n = static_cast<std::int64_t>(w.size());
  ReleaseGil nogil;
  optim_update<T>(p, lr, it, gs, n, wp, gp, s[0], s[1], s[2], u);
}

}  // namespace

void register_optim(py::module_& m) {
  m.def(
      "optimizer_num_slots",
      [](const std::string& name, double momentum, bool centered, bool amsgrad) {
        OptimParams p;
        p.kind = parse_name(name);
        check_range("momentum", momentum, 0.0, 1.0, false);
        p.momentum = momentum;
        p.centered = centered;
        p.amsgrad = amsgrad;
        return optim_num_slots(p);
      },
      py::arg("name"), py::arg("momentum") = 0.0, py::arg("centered") = false,
      py::arg("amsgrad") = false, "Number of slot buffers the optimizer keeps per parameter.");

  m.def(
      "optimizer_update",
      [](const std::string& name, const py::object& w_obj, const py::object& g_obj,
         const py::sequence& slots_obj, double learning_rate, std::int64_t iteration,
         double grad_scale, double l1, double l2, const py::object& clipnorm_obj,
         const py::object& clipvalue_obj, const py::object& state_obj, double momentum,
         bool nesterov, double rho, bool centered, double beta_1, double beta_2, double epsilon,
         bool amsgrad, double weight_decay) {
        const OptimParams hp = make_params(
            name, Hyper{momentum, rho, beta_1, beta_2, epsilon, weight_decay, nesterov, centered,
                        amsgrad});
        OptimParams p = hp;
        check_finite("learning_rate", learning_rate);
        if (iteration < 1)
          throw py::value_error("iteration must be >= 1 (1-based), got " +
                                std::to_string(iteration));
        check_finite("grad_scale", grad_scale);
        check_penalty(l1, l2);
        p.l1 = l1;
        p.l2 = l2;
        p.clipnorm = check_clip("clipnorm", clipnorm_obj);
        p.clipvalue = check_clip("clipvalue", clipvalue_obj);
        if (p.clipnorm > 0 && p.clipvalue > 0)
          throw py::value_error(
              "only one of clipnorm and clipvalue can be set (as in Keras), got clipnorm=" +
              num_str(p.clipnorm) + " and clipvalue=" + num_str(p.clipvalue));

        py::array w = as_float_array(w_obj, "w", true);
        py::array g = as_float_array(g_obj, "g", false);
        check_same(w, "w", g, "g");
        const int want = optim_num_slots(p);
        if (static_cast<int>(py::len(slots_obj)) != want)
          throw py::value_error("optimizer '" + name + "' with these hyperparameters needs " +
                                std::to_string(want) + " slot array(s), got " +
                                std::to_string(py::len(slots_obj)));
        std::vector<py::array> slots;
        std::vector<std::pair<std::string, py::array>> all = {{"w", w}, {"g", g}};
        for (int i = 0; i < want; ++i) {
          const std::string what = "slots[" + std::to_string(i) + "]";
          py::array s = as_float_array(slots_obj[static_cast<std::size_t>(i)], what, true);
          check_same(w, "w", s, what);
          slots.push_back(s);
          all.emplace_back(what, s);
        }
        for (std::size_t i = 0; i < all.size(); ++i)
          for (std::size_t j = i + 1; j < all.size(); ++j)
            if (overlaps(all[i].second, all[j].second))
              throw py::value_error(all[i].first + " and " + all[j].first +
                                    " share memory; every buffer must be distinct");

        double* u = nullptr;
        py::array_t<double> state;
        if (!state_obj.is_none()) {
          if (!py::isinstance<py::array>(state_obj) ||
              !same_dtype(py::reinterpret_borrow<py::array>(state_obj).dtype(),
                          py::dtype::of<double>()))
            throw py::type_error(
                "state must be a float64 numpy.ndarray of shape (1,) or None, got " +
                py::repr(state_obj).cast<std::string>());
          state = py::reinterpret_borrow<py::array_t<double>>(state_obj);
          if (state.ndim() != 1 || state.shape(0) != 1)
            throw py::value_error("state must have shape (1,), got " + shape_str(state));
          if (!state.writeable())
            throw py::value_error("state must be writeable (it is updated in place)");
          for (const auto& e : all)
            if (overlaps(state, e.second))
              throw py::value_error("state and " + e.first + " share memory");
          u = state.mutable_data();
          if (p.kind == Optimizer::nadam && !(std::isfinite(*u)))
            throw py::value_error("state[0] (nadam u_product) must be finite, got " + num_str(*u));
        }
        if (same_dtype(w.dtype(), py::dtype::of<float>()))
          update_typed<float>(p, learning_rate, iteration, grad_scale, w, g, slots, u);
        else
          update_typed<double>(p, learning_rate, iteration, grad_scale, w, g, slots, u);
      },
      py::arg("name"), py::arg("w"), py::arg("g"), py::arg("slots"), py::kw_only(),
      py::arg("learning_rate"), py::arg("iteration"), py::arg("grad_scale") = 1.0,
      py::arg("l1") = 0.0, py::arg("l2") = 0.0, py::arg("clipnorm") = py::none(),
      py::arg("clipvalue") = py::none(), py::arg("state") = py::none(),
      py::arg("momentum") = 0.0, py::arg("nesterov") = false, py::arg("rho") = 0.9,
      py::arg("centered") = false, py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999,
      py::arg("epsilon") = 1e-7, py::arg("amsgrad") = false, py::arg("weight_decay") = 0.0,
      "Fused in-place optimizer step on w and its slots (see lamina.ops.optimizer_update).");

  m.def(
      "grad_sq_sum",
      [](const py::object& g_obj, const py::object& w_obj, double l1, double l2) {
        py::array g = as_float_array(g_obj, "g", false);
        check_penalty(l1, l2);
        const std::int64_t n = static_cast<std::int64_t>(g.size());
        const bool f32 = same_dtype(g.dtype(), py::dtype::of<float>());
        if (w_obj.is_none()) {
          if (l1 != 0 || l2 != 0)
            throw py::value_error("l1/l2 need w (the parameters), got w=None");
          ReleaseGil nogil;
          return f32 ? grad_sq_sum<float>(n, static_cast<const float*>(g.data()))
                     : grad_sq_sum<double>(n, static_cast<const double*>(g.data()));
        }
        py::array w = as_float_array(w_obj, "w", false);
        check_same(g, "g", w, "w");
        ReleaseGil nogil;
        return f32 ? grad_sq_sum<float>(n, static_cast<const float*>(g.data()),
                                        static_cast<const float*>(w.data()), l1, l2)
                   : grad_sq_sum<double>(n, static_cast<const double*>(g.data()),
                                         static_cast<const double*>(w.data()), l1, l2);
      },
      py::arg("g"), py::arg("w") = py::none(), py::arg("l1") = 0.0, py::arg("l2") = 0.0,
      "sum(g**2) in double, fixed order; with w: of the penalised gradient "
      "g + l1*sign(w) + 2*l2*w.");

  m.def(
      "penalty",
      [](const py::object& w_obj, double l1, double l2) {
        py::array w = as_float_array(w_obj, "w", false);
        check_penalty(l1, l2);
        const std::int64_t n = static_cast<std::int64_t>(w.size());
        ReleaseGil nogil;
        return same_dtype(w.dtype(), py::dtype::of<float>())
                   ? penalty<float>(l1, l2, n, static_cast<const float*>(w.data()))
                   : penalty<double>(l1, l2, n, static_cast<const double*>(w.data()));
      },
      py::arg("w"), py::arg("l1"), py::arg("l2"),
      "l1*sum|w| + l2*sum(w**2) in double, fixed order (the regularization loss).");

  m.def(
      "global_clipnorm_scale",
      [](double sq_sum, double clipnorm) {
        if (!(std::isfinite(clipnorm) && clipnorm > 0))
          throw py::value_error("clipnorm must be a finite number > 0, got " + num_str(clipnorm));
        return global_clipnorm_scale(sq_sum, clipnorm);
      },
      py::arg("sq_sum"), py::arg("clipnorm"),
      "Keras' global_clipnorm factor clipnorm / max(sqrt(sq_sum), clipnorm) (NaN if not finite).");

  m.def(
      "nadam_u_product",
      [](double beta_1, std::int64_t iteration) {
        check_range("beta_1", beta_1, 0.0, 1.0, true);
        if (iteration < 1)
          throw py::value_error("iteration must be >= 1, got " + std::to_string(iteration));
        return nadam_u_product_before(beta_1, iteration);
      },
      py::arg("beta_1"), py::arg("iteration"),
      "Nadam's u-product before step `iteration` (1.0 for the first step).");
}

}  // namespace lamina::bind
