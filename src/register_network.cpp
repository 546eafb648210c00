// Bindings for the step executor: lamina._core.Network (the Python contract is the docstring
// of Network in python/lamina/_core.pyi; the core's in cpp/include/lamina/network.hpp).
// Converts the spec dict into a lamina::NetworkSpec, checks every array (dtype, shape,
// contiguity, writeability, aliasing) and every batch argument, keeps references to the
// spec's arrays (the core updates them in place), and forwards each call with the GIL
// released under a mutex.
//
// Layers are parsed from the core's kind registry (lamina::layer_kinds()): a kind's attribute
// schema says which keys to read and how (int / float / bool / activation name, range), and
// its parameters and state come in one generic format, so a new kind needs nothing here.
//
// No deviation from the spec. Additions: read-only `capacity` (rows the buffer arena holds
// now), `last_penalty` (the L1/L2 term of the last call's loss) and `dtype` properties;
// evaluate's sample_weight defaults to None; metric names also take losses.hpp's aliases
// ("mse", "mae"); a spec that would make two arrays share memory (e.g. one array passed as
// two slots) is rejected, since the core writes them in place.
#include "bindings.hpp"

#include "lamina/network.hpp"

#include <pybind11/stl.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lamina::bind {

namespace {

std::string repr_of(const py::handle& h) { return py::repr(h).cast<std::string>(); }

py::object get(const py::dict& d, const char* key, const std::string& where) {
  if (!d.contains(key)) throw py::value_error(where + " is missing the key '" + key + "'");
  return d[key];
}

double get_float(const py::dict& d, const char* key, const std::string& where) {
  py::object o = get(d, key, where);
  double v;
  try {
    v = o.cast<double>();
  } catch (const py::cast_error&) {
    throw py::value_error(where + "['" + key + "'] must be a number, got " + repr_of(o));
  }
  if (!std::isfinite(v))
    throw py::value_error(where + "['" + key + "'] must be finite, got " + repr_of(o));
  return v;
}

double get_nonneg(const py::dict& d, const char* key, const std::string& where) {
  const double v = get_float(d, key, where);
  if (v < 0.0)
    throw py::value_error(where + "['" + key + "'] must be >= 0, got " + repr_of(d[key]));
  return v;
}

bool get_bool(const py::dict& d, const char* key, const std::string& where) {
  py::object o = get(d, key, where);
  try {
    return o.cast<bool>();
  } catch (const py::cast_error&) {
    throw py::value_error(where + "['" + key + "'] must be a bool, got " + repr_of(o));
  }
}

std::string get_str(const py::dict& d, const char* key, const std::string& where) {
  py::object o = get(d, key, where);
  if (!py::isinstance<py::str>(o))
    throw py::value_error(where + "['" + key + "'] must be a str, got " + repr_of(o));
  return o.cast<std::string>();
}

std::int64_t get_int(const py::dict& d, const char* key, const std::string& where) {
  py::object o = get(d, key, where);
  // Python and numpy integers (through __index__); not bool, not float.
  if (py::isinstance<py::bool_>(o) || !PyIndex_Check(o.ptr()))
    throw py::value_error(where + "['" + key + "'] must be an int, got " + repr_of(o));
  py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(o.ptr()));
  if (!i) throw py::error_already_set();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    throw py::value_error(where + "['" + key + "'] is out of range: " + repr_of(o));
  }
  return v;
}

Activation get_activation(const py::dict& d, const char* key, const std::string& where) {
  const std::string name = get_str(d, key, where);
  Activation a;
  if (!parse_activation(name.c_str(), &a))
    throw py::value_error(where + ": unknown activation '" + name + "' (accepted: " +
                          activation_names() + ")");
  return a;
}

py::sequence get_list(const py::dict& d, const char* key, const std::string& where) {
  py::object o = get(d, key, where);
  if (!py::isinstance<py::list>(o) && !py::isinstance<py::tuple>(o))
    throw py::value_error(where + "['" + key + "'] must be a list, got " + repr_of(o));
  return o.cast<py::sequence>();
}

bool is_f64(const std::string& dtype) { return dtype == "float64"; }

template <class T>
const char* dtype_name() {
  return sizeof(T) == 8 ? "float64" : "float32";
}

struct Extent {
  const char* lo;
  const char* hi;
  std::string what;
};

bool overlaps(const Extent& a, const Extent& b) { return a.lo < b.hi && b.lo < a.hi; }

Extent extent_of(const py::array& a, std::string what) {
  const char* p = static_cast<const char*>(a.data());
  return Extent{p, p + a.nbytes(), std::move(what)};
}

// A spec array: dtype T, the exact shape (any shape when `shape` is null), C-contiguous,
// writeable (when `writeable`).
template <class T>
py::array spec_array(const py::object& o, const std::vector<py::ssize_t>* shape,
                     const std::string& what, bool writeable = true) {
  if (!py::isinstance<py::array>(o))
    throw py::value_error(what + " must be a numpy array, got " + repr_of(py::type::of(o)));
  py::array a = py::reinterpret_borrow<py::array>(o);
  if (!same_dtype(a.dtype(), py::dtype::of<T>()))
    throw py::value_error(what + " must have dtype " + dtype_name<T>() + ", got " +
                          py::str(a.dtype()).cast<std::string>());
  bool same = shape == nullptr || a.ndim() == static_cast<py::ssize_t>(shape->size());
  for (std::size_t i = 0; shape != nullptr && same && i < shape->size(); ++i)
    same = a.shape(i) == (*shape)[i];
  if (!same) {
    std::string want = "(";
    for (std::size_t i = 0; i < shape->size(); ++i)
      want += (i ? ", " : "") + std::to_string((*shape)[i]);
    want += shape->size() == 1 ? ",)" : ")";
    throw py::value_error(what + " must have shape " + want + ", got " + shape_str(a));
  }
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(what + " must be C-contiguous (use numpy.ascontiguousarray)");
  if (writeable && !a.writeable()) throw py::value_error(what + " must be writeable");
  return a;
}

// An attribute of a layer entry, read as the kind's schema says.
AttrValue parse_attr(const py::dict& d, const AttrSchema& a, const std::string& lw) {
  AttrValue v;
  v.name = a.name;
  switch (a.type) {
    case AttrType::integer:
      v.i = get_int(d, a.name, lw);
      if (!attr_in_range(a, static_cast<double>(v.i)))
        throw py::value_error(lw + "['" + a.name + "'] must be " +
                              (std::isfinite(a.lo) && std::isfinite(a.hi) ? "in " : "") +
                              attr_range_text(a) + ", got " + repr_of(d[a.name]));
      break;
    case AttrType::real:
      v.f = get_float(d, a.name, lw);
      if (!attr_in_range(a, v.f))
        throw py::value_error(lw + "['" + a.name + "'] must be " +
                              (std::isfinite(a.lo) && std::isfinite(a.hi) ? "in " : "") +
                              attr_range_text(a) + ", got " + repr_of(d[a.name]));
      break;
    case AttrType::boolean:
      v.i = get_bool(d, a.name, lw) ? 1 : 0;
      break;
    case AttrType::activation:
      v.i = static_cast<std::int64_t>(get_activation(d, a.name, lw));
      break;
    case AttrType::dtype: {
      const std::string name = get_str(d, a.name, lw);
      DType dt = DType::float32;
      if (!dtype_from_name(name, &dt))
        throw py::value_error(lw + "['" + a.name + "'] must be one of " + dtype_names() +
                              ", got '" + name + "'");
      v.i = static_cast<std::int64_t>(dt);
      break;
    }
  }
  return v;
}

// The bound object: the typed core network plus everything that keeps its memory alive.
struct PyNetwork {
  bool f64 = false;
  std::unique_ptr<Network<float>> nf;
  std::unique_ptr<Network<double>> nd;
  std::vector<py::object> keep;  // every array of the spec
  std::vector<Extent> param_extents;  // parameter values and state: read by predict
  std::vector<std::vector<py::ssize_t>> param_shapes;  // of every parameter, in order
  std::int64_t in_dim = 0, out_dim = 0, n_params = 0;
  int n_metrics = 0;
  bool sparse = false;
  std::vector<double> results;  // 2 + n_metrics, reused under the mutex
  std::mutex mu;
};

// One entry of spec['layers'], any registered kind: its attributes from the kind's schema,
// then "params" (a list of {name, value, trainable, l1, l2, slots}) and the optional "state"
// (a list of {name, value}). Every array is referenced by self.keep and its memory recorded
// in `extents` for the aliasing check; the core checks names and shapes against the kind.
template <class T>
LayerSpec<T> parse_layer(PyNetwork& self, const py::dict& d, const std::string& lw, int nslots,
                         const std::string& oname, std::vector<Extent>& extents) {
  LayerSpec<T> r;
  r.type = get_str(d, "type", lw);
  const LayerKindInfo* kind = find_layer_kind(r.type);
  if (kind == nullptr)
    throw py::value_error(lw + ": unknown layer type '" + r.type + "' (accepted: " +
                          layer_kind_names() + ")");
  for (const AttrSchema& a : kind->attrs)
    if (!a.optional || d.contains(a.name)) r.attrs.push_back(parse_attr(d, a, lw));

  if (!kind->params.empty() || d.contains("params")) {
    py::sequence ps = get_list(d, "params", lw);
    if (kind->params.empty() && ps.size() != 0)
      throw py::value_error(lw + "['params'] must be empty: a " + r.type +
                            " layer has no parameters, got " + std::to_string(ps.size()));
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const std::string pw = lw + "['params'][" + std::to_string(i) + "]";
      py::object po = ps[i];
      if (!py::isinstance<py::dict>(po))
        throw py::value_error(pw + " must be a dict, got " + repr_of(po));
      py::dict pd = po.cast<py::dict>();
      ParamSpec<T> p;
      p.name = get_str(pd, "name", pw);
      py::array value = spec_array<T>(get(pd, "value", pw), nullptr, pw + "['value']");
      p.value = static_cast<T*>(value.mutable_data());
      std::vector<py::ssize_t> shape;
      for (py::ssize_t k = 0; k < value.ndim(); ++k) {
        shape.push_back(value.shape(k));
        p.shape.push_back(value.shape(k));
      }
      self.keep.push_back(value);
      extents.push_back(extent_of(value, pw + "['value']"));
      self.param_extents.push_back(extents.back());
      self.param_shapes.push_back(shape);
      p.trainable = get_bool(pd, "trainable", pw);
      p.l1 = get_nonneg(pd, "l1", pw);
      p.l2 = get_nonneg(pd, "l2", pw);
      py::sequence slots = get_list(pd, "slots", pw);
      const bool ok = slots.size() == static_cast<std::size_t>(nslots) ||
                      (!p.trainable && slots.size() == 0);
      if (!ok)
        throw py::value_error(pw + "['slots'] must hold " +
                              (p.trainable ? "" : "0 or ") + std::to_string(nslots) +
                              " arrays for optimizer '" + oname + "', got " +
                              std::to_string(slots.size()));
      for (std::size_t j = 0; j < slots.size(); ++j) {
        const std::string sw = pw + "['slots'][" + std::to_string(j) + "]";
        py::array a = spec_array<T>(slots[j], &shape, sw);
        p.slots.push_back(static_cast<T*>(a.mutable_data()));
        self.keep.push_back(a);
        extents.push_back(extent_of(a, sw));
      }
      r.params.push_back(std::move(p));
    }
  }
  if (d.contains("state")) {
    py::sequence ss = get_list(d, "state", lw);
    for (std::size_t i = 0; i < ss.size(); ++i) {
      const std::string sw = lw + "['state'][" + std::to_string(i) + "]";
      py::object so = ss[i];
      if (!py::isinstance<py::dict>(so))
        throw py::value_error(sw + " must be a dict, got " + repr_of(so));
      py::dict sd = so.cast<py::dict>();
      StateSpec<T> st;
      st.name = get_str(sd, "name", sw);
      py::array value = spec_array<T>(get(sd, "value", sw), nullptr, sw + "['value']");
      st.value = static_cast<T*>(value.mutable_data());
      for (py::ssize_t k = 0; k < value.ndim(); ++k) st.shape.push_back(value.shape(k));
      self.keep.push_back(value);
      extents.push_back(extent_of(value, sw + "['value']"));
      self.param_extents.push_back(extents.back());
      r.state.push_back(std::move(st));
    }
  }
  return r;
}

template <class T>
std::unique_ptr<Network<T>> build(PyNetwork& self, const py::dict& spec) {
  NetworkSpec<T> s;
  const std::string where = "spec";
  s.input_dim = get_int(spec, "input_dim", where);
  if (s.input_dim < 1)
    throw py::value_error("spec['input_dim'] must be >= 1, got " + std::to_string(s.input_dim));

  // Loss, optimizer and metrics first: the slot count depends on the optimizer.
  py::object lo = get(spec, "loss", where);
  if (!py::isinstance<py::dict>(lo))
    throw py::value_error("spec['loss'] must be a dict, got " + repr_of(lo));
  py::dict ld = lo.cast<py::dict>();
  const std::string lname = get_str(ld, "name", "spec['loss']");
  if (!parse_loss(lname.c_str(), &s.loss.kind))
    throw py::value_error("spec['loss']: unknown loss '" + lname + "' (accepted: " + loss_names() +
                          ")");
  s.loss.from_logits = get_bool(ld, "from_logits", "spec['loss']");
  s.loss.delta = get_float(ld, "delta", "spec['loss']");
  if (ld.contains("label_smoothing")) {
    s.loss.label_smoothing = get_float(ld, "label_smoothing", "spec['loss']");
    if (!(s.loss.label_smoothing >= 0.0 && s.loss.label_smoothing <= 1.0))
      throw py::value_error("spec['loss']['label_smoothing'] must be in [0, 1], got " +
                            repr_of(ld["label_smoothing"]));
    if (s.loss.label_smoothing != 0.0 && s.loss.kind != Loss::binary_crossentropy &&
        s.loss.kind != Loss::categorical_crossentropy)
      throw py::value_error("spec['loss']['label_smoothing'] applies to binary_crossentropy and "
                            "categorical_crossentropy, not " + lname);
  }
  if (ld.contains("reduction")) {
    const std::string r = get_str(ld, "reduction", "spec['loss']");
    if (r == "sum_over_batch_size" || r == "mean")
      s.loss.reduction = Reduction::sum_over_batch_size;
    else if (r == "sum")
      s.loss.reduction = Reduction::sum;
    else if (r == "mean_with_sample_weight")
      s.loss.reduction = Reduction::mean_with_sample_weight;
    else
      throw py::value_error("spec['loss']['reduction'] must be 'sum_over_batch_size', 'mean', "
                            "'sum' or 'mean_with_sample_weight', got '" + r + "'");
  }
  if (s.loss.kind == Loss::huber && !(s.loss.delta > 0.0))
    throw py::value_error("spec['loss']['delta'] must be > 0 for huber, got " +
                          repr_of(ld["delta"]));

  py::object oo = get(spec, "optimizer", where);
  if (!py::isinstance<py::dict>(oo))
    throw py::value_error("spec['optimizer'] must be a dict, got " + repr_of(oo));
  py::dict od = oo.cast<py::dict>();
  const std::string ow = "spec['optimizer']";
  const std::string oname = get_str(od, "name", ow);
  OptimParams& op = s.optimizer;
  if (!parse_optimizer(oname.c_str(), &op.kind))
    throw py::value_error(ow + ": unknown optimizer '" + oname + "' (accepted: " +
                          optimizer_names() + ")");
  op.momentum = get_nonneg(od, "momentum", ow);
  op.nesterov = get_bool(od, "nesterov", ow);
  op.rho = get_nonneg(od, "rho", ow);
  op.centered = get_bool(od, "centered", ow);
  op.beta_1 = get_nonneg(od, "beta_1", ow);
  op.beta_2 = get_nonneg(od, "beta_2", ow);
  op.epsilon = get_nonneg(od, "epsilon", ow);
  op.amsgrad = get_bool(od, "amsgrad", ow);
  op.weight_decay = get_nonneg(od, "weight_decay", ow);
  op.clipnorm = get_nonneg(od, "clipnorm", ow);
  op.clipvalue = get_nonneg(od, "clipvalue", ow);
  s.global_clipnorm = get_nonneg(od, "global_clipnorm", ow);
  if (op.momentum >= 1.0) throw py::value_error(ow + "['momentum'] must be < 1, got " + repr_of(od["momentum"]));
  if (op.beta_1 >= 1.0) throw py::value_error(ow + "['beta_1'] must be < 1, got " + repr_of(od["beta_1"]));
  if (op.beta_2 >= 1.0) throw py::value_error(ow + "['beta_2'] must be < 1, got " + repr_of(od["beta_2"]));
  if (op.rho >= 1.0) throw py::value_error(ow + "['rho'] must be < 1, got " + repr_of(od["rho"]));
  const int nslots = optim_num_slots(op);

  const std::vector<py::ssize_t> one{1};
  py::array state = spec_array<double>(get(spec, "optimizer_state", where), &one,
                                       "spec['optimizer_state']");
  self.keep.push_back(state);
  s.optimizer_state = static_cast<double*>(state.mutable_data());

  py::object mo = get(spec, "metrics", where);
  if (!py::isinstance<py::list>(mo) && !py::isinstance<py::tuple>(mo))
    throw py::value_error("spec['metrics'] must be a list, got " + repr_of(mo));
  std::size_t mi = 0;
  for (py::handle h : mo) {
    const std::string mw = "spec['metrics'][" + std::to_string(mi++) + "]";
    if (!py::isinstance<py::dict>(h)) throw py::value_error(mw + " must be a dict, got " + repr_of(h));
    py::dict md = py::reinterpret_borrow<py::dict>(h);
    MetricParams mp;
    const std::string mname = get_str(md, "name", mw);
    if (!parse_metric(mname.c_str(), &mp.kind))
      throw py::value_error(mw + ": unknown metric '" + mname + "' (accepted: " + metric_names() +
                            ")");
    mp.threshold = get_float(md, "threshold", mw);
    const std::int64_t k = get_int(md, "k", mw);
    if (k < 1 || k > (1 << 30)) throw py::value_error(mw + "['k'] must be >= 1, got " + std::to_string(k));
    mp.k = static_cast<int>(k);
    // optional: False for Keras's unweighted `metrics` (sample weights do not weight them)
    mp.weighted = md.contains("weighted") ? get_bool(md, "weighted", mw) : true;
    s.metrics.push_back(mp);
  }

  py::object so = get(spec, "seed", where);
  if (py::isinstance<py::bool_>(so) || !PyIndex_Check(so.ptr()))
    throw py::value_error("spec['seed'] must be an int, got " + repr_of(so));
  {
    py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(so.ptr()));
    if (!i) throw py::error_already_set();
    const unsigned long long v = PyLong_AsUnsignedLongLong(i.ptr());
    if (v == ~0ULL && PyErr_Occurred()) {
      PyErr_Clear();
      throw py::value_error("spec['seed'] must be in [0, 2**64), got " + repr_of(so));
    }
    s.seed = v;
  }
  if (spec.contains("external_loss")) s.external_loss = get_bool(spec, "external_loss", where);

  py::object lay = get(spec, "layers", where);
  if (!py::isinstance<py::list>(lay) && !py::isinstance<py::tuple>(lay))
    throw py::value_error("spec['layers'] must be a list, got " + repr_of(lay));
  std::size_t li = 0;
  std::vector<Extent> extents{extent_of(state, "spec['optimizer_state']")};
  for (py::handle h : lay) {
    const std::string lw = "spec['layers'][" + std::to_string(li++) + "]";
    if (!py::isinstance<py::dict>(h)) throw py::value_error(lw + " must be a dict, got " + repr_of(h));
    s.layers.push_back(parse_layer<T>(self, py::reinterpret_borrow<py::dict>(h), lw, nslots,
                                      oname, extents));
  }
  // The core writes every array in place: two of them sharing memory would corrupt each other.
  for (std::size_t i = 0; i < extents.size(); ++i)
    for (std::size_t j = i + 1; j < extents.size(); ++j)
      if (overlaps(extents[i], extents[j]))
        throw py::value_error(extents[i].what + " and " + extents[j].what +
                              " share memory: every parameter, slot and state needs its own array");

  std::unique_ptr<Network<T>> net;
  try {
    net.reset(new Network<T>(s));
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string("spec: ") + e.what());
  }
  self.in_dim = net->input_dim();
  self.out_dim = net->output_dim();
  self.n_params = net->num_params();
  self.n_metrics = net->num_metrics();
  self.sparse = net->sparse_targets();
  self.results.assign(2 + static_cast<std::size_t>(self.n_metrics), 0.0);
  return net;
}

std::unique_ptr<PyNetwork> make(const py::dict& spec) {
  auto self = std::make_unique<PyNetwork>();
  py::object dt = get(spec, "dtype", "spec");
  const std::string dtype = py::str(dt).cast<std::string>();
  if (dtype != "float32" && dtype != "float64")
    throw py::value_error("spec['dtype'] must be 'float32' or 'float64', got " + repr_of(dt));
  self->f64 = is_f64(dtype);
  if (self->f64)
    self->nd = build<double>(*self, spec);
  else
    self->nf = build<float>(*self, spec);
  return self;
}

// Checked batch arguments, with pointers valid while the arrays are referenced.
template <class T>
struct Batch {
  std::int64_t m = 0;
  py::array x, y, sw;
  Targets<T> t;
};

template <class T>
py::array batch_array(const py::handle& o, const char* name, int ndim) {
  if (!py::isinstance<py::array>(o))
    throw py::value_error(std::string(name) + " must be a numpy array, got " +
                          repr_of(py::type::of(o)));
  py::array a = py::reinterpret_borrow<py::array>(o);
  if (!same_dtype(a.dtype(), py::dtype::of<T>()))
    throw py::value_error(std::string(name) + " must have dtype " +
                          py::str(py::dtype::of<T>()).cast<std::string>() + ", got " +
                          py::str(a.dtype()).cast<std::string>());
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) +
                          "-D, got shape " + shape_str(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) +
                          " must be C-contiguous (use numpy.ascontiguousarray)");
  return a;
}

template <class T>
py::array check_x(const PyNetwork& self, const py::handle& xo) {
  py::array x = batch_array<T>(xo, "x", 2);
  if (x.shape(1) != self.in_dim)
    throw py::value_error("x must have shape (m, " + std::to_string(self.in_dim) + "), got " +
                          shape_str(x));
  if (x.shape(0) < 1) throw py::value_error("x must have at least one row, got shape " + shape_str(x));
  return x;
}

// y and sample_weight of a batch of b.m rows into b.
template <class T>
void check_targets(const PyNetwork& self, Batch<T>& b, const py::handle& yo,
                   const py::handle& swo) {
  if (self.sparse) {
    if (!py::isinstance<py::array>(yo))
      throw py::value_error("y must be a numpy array of int64 labels, got " +
                            repr_of(py::type::of(yo)));
    b.y = py::reinterpret_borrow<py::array>(yo);
    if (!same_dtype(b.y.dtype(), py::dtype::of<std::int64_t>()))
      throw py::value_error("y must hold int64 class labels for sparse_categorical_crossentropy, "
                            "got dtype " + py::str(b.y.dtype()).cast<std::string>());
    if (b.y.ndim() != 1 || b.y.shape(0) != b.m)
      throw py::value_error("y must have shape (" + std::to_string(b.m) + ",), got " +
                            shape_str(b.y));
    if (!(b.y.flags() & py::array::c_style)) throw py::value_error("y must be C-contiguous");
    const auto* lab = static_cast<const std::int64_t*>(b.y.data());
    for (std::int64_t i = 0; i < b.m; ++i)
      if (lab[i] < 0 || lab[i] >= self.out_dim)
        throw py::value_error("y[" + std::to_string(i) + "] = " + std::to_string(lab[i]) +
                              " is not a class label in [0, " + std::to_string(self.out_dim) +
                              ")");
    b.t.labels = lab;
  } else {
    b.y = batch_array<T>(yo, "y", 2);
    if (b.y.shape(0) != b.m || b.y.shape(1) != self.out_dim)
      throw py::value_error("y must have shape (" + std::to_string(b.m) + ", " +
                            std::to_string(self.out_dim) + "), got " + shape_str(b.y));
    b.t.y = static_cast<const T*>(b.y.data());
  }
  if (!swo.is_none()) {
    b.sw = batch_array<T>(swo, "sample_weight", 1);
    if (b.sw.shape(0) != b.m)
      throw py::value_error("sample_weight must have shape (" + std::to_string(b.m) +
                            ",), got " + shape_str(b.sw));
    b.t.sw = static_cast<const T*>(b.sw.data());
  }
}

template <class T>
Batch<T> check_batch(const PyNetwork& self, const py::handle& xo, const py::handle& yo,
                     const py::handle& swo) {
  Batch<T> b;
  b.x = check_x<T>(self, xo);
  b.m = b.x.shape(0);
  check_targets<T>(self, b, yo, swo);
  return b;
}

// An (m, output_dim) array the core writes (out) or reads (dy), not sharing memory with x or
// the network's arrays.
template <class T>
py::array check_rows(const PyNetwork& self, const py::handle& oo, const char* name,
                     std::int64_t m, const py::array* x, bool write) {
  py::array out = batch_array<T>(oo, name, 2);
  if (out.shape(0) != m || out.shape(1) != self.out_dim)
    throw py::value_error(std::string(name) + " must have shape (" + std::to_string(m) + ", " +
                          std::to_string(self.out_dim) + "), got " + shape_str(out));
  if (write && !out.writeable()) throw py::value_error(std::string(name) + " must be writeable");
  const Extent eo = extent_of(out, name);
  if (x != nullptr && overlaps(eo, extent_of(*x, "x")))
    throw py::value_error(std::string(name) + " and x share memory");
  for (const Extent& e : self.param_extents)
    if (overlaps(eo, e)) throw py::value_error(std::string(name) + " shares memory with " + e.what);
  return out;
}

py::tuple results_tuple(const std::vector<double>& r) {
  py::tuple t(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) t[i] = py::float_(r[i]);
  return t;
}

template <class T>
Network<T>& net_of(PyNetwork& self);
template <>
Network<float>& net_of<float>(PyNetwork& self) { return *self.nf; }
template <>
Network<double>& net_of<double>(PyNetwork& self) { return *self.nd; }

// The optional `outputs` array of train_step / evaluate: (m, out_dim), the network's dtype,
// C-contiguous, writeable, sharing no memory with x or the parameters; nullptr for None.
template <class T>
T* check_outputs(const PyNetwork& self, const Batch<T>& b, const py::handle& oo) {
  if (oo.is_none()) return nullptr;
  py::array out = batch_array<T>(oo, "outputs", 2);
  if (out.shape(0) != b.m || out.shape(1) != self.out_dim)
    throw py::value_error("outputs must have shape (" + std::to_string(b.m) + ", " +
                          std::to_string(self.out_dim) + "), got " + shape_str(out));
  if (!out.writeable()) throw py::value_error("outputs must be writeable");
  const Extent eo = extent_of(out, "outputs");
  if (overlaps(eo, extent_of(b.x, "x"))) throw py::value_error("outputs and x share memory");
  for (const Extent& e : self.param_extents)
    if (overlaps(eo, e)) throw py::value_error("outputs shares memory with " + e.what);
  return static_cast<T*>(out.mutable_data());
}

template <class T>
py::tuple train_step_t(PyNetwork& self, const py::handle& x, const py::handle& y,
                       const py::handle& sw, double lr, std::int64_t iteration,
                       const py::handle& outputs) {
  Batch<T> b = check_batch<T>(self, x, y, sw);
  T* y_out = check_outputs<T>(self, b, outputs);
  std::vector<double> out;
  {
    ReleaseGil nogil;
    std::lock_guard<std::mutex> lock(self.mu);
    net_of<T>(self).train_step(b.m, static_cast<const T*>(b.x.data()), b.t, lr, iteration,
                               self.results.data(), y_out);
    out = self.results;
  }
  return results_tuple(out);
}

template <class T>
py::tuple evaluate_t(PyNetwork& self, const py::handle& x, const py::handle& y,
                     const py::handle& sw, const py::handle& oo) {
  Batch<T> b = check_batch<T>(self, x, y, sw);
  py::array outputs;
  T* op = nullptr;
  if (!oo.is_none()) {
    outputs = check_rows<T>(self, oo, "outputs", b.m, &b.x, true);
    op = static_cast<T*>(outputs.mutable_data());
  }
  std::vector<double> out;
  {
    ReleaseGil nogil;
    std::lock_guard<std::mutex> lock(self.mu);
    net_of<T>(self).evaluate(b.m, static_cast<const T*>(b.x.data()), b.t, self.results.data(),
                             op);
    out = self.results;
  }
  return results_tuple(out);
}

template <class T>
void forward_train_t(PyNetwork& self, const py::handle& xo, const py::handle& oo,
                     std::int64_t iteration, bool update_state) {
  py::array x = check_x<T>(self, xo);
  py::array out = check_rows<T>(self, oo, "out", x.shape(0), &x, true);
  ReleaseGil nogil;
  std::lock_guard<std::mutex> lock(self.mu);
  net_of<T>(self).forward_train(x.shape(0), static_cast<const T*>(x.data()), iteration,
                                static_cast<T*>(out.mutable_data()), update_state);
}

template <class T>
py::tuple backward_update_t(PyNetwork& self, const py::handle& yo, const py::handle& swo,
                            const py::handle& dyo, double lr, std::int64_t iteration) {
  py::array dyc = batch_array<T>(dyo, "dy", 2);
  Batch<T> b;
  b.m = dyc.shape(0);
  py::array dy = check_rows<T>(self, dyo, "dy", b.m, nullptr, false);
  check_targets<T>(self, b, yo, swo);
  std::vector<double> out;
  {
    ReleaseGil nogil;
    std::lock_guard<std::mutex> lock(self.mu);
    net_of<T>(self).backward_update(b.m, b.t, static_cast<const T*>(dy.data()), lr, iteration,
                                    self.results.data());
    out = self.results;
  }
  return results_tuple(out);
}

template <class T>
py::tuple backward_gradients_t(PyNetwork& self, const py::handle& yo, const py::handle& swo,
                               const py::handle& dyo) {
  py::array dyc = batch_array<T>(dyo, "dy", 2);
  Batch<T> b;
  b.m = dyc.shape(0);
  py::array dy = check_rows<T>(self, dyo, "dy", b.m, nullptr, false);
  check_targets<T>(self, b, yo, swo);
  py::list grads;
  std::vector<T*> ptrs;
  for (const auto& shape : self.param_shapes) {
    py::array_t<T> g(shape);
    ptrs.push_back(g.mutable_data());
    grads.append(g);
  }
  std::vector<double> out;
  {
    ReleaseGil nogil;
    std::lock_guard<std::mutex> lock(self.mu);
    net_of<T>(self).backward_gradients(b.m, b.t, static_cast<const T*>(dy.data()),
                                       self.results.data(), ptrs.data());
    out = self.results;
  }
  return py::make_tuple(out[0], grads);
}

template <class T>
void predict_t(PyNetwork& self, const py::handle& xo, const py::handle& oo) {
  py::array x = check_x<T>(self, xo);
  const std::int64_t m = x.shape(0);
  py::array out = batch_array<T>(oo, "out", 2);
  if (out.shape(0) != m || out.shape(1) != self.out_dim)
    throw py::value_error("out must have shape (" + std::to_string(m) + ", " +
                          std::to_string(self.out_dim) + "), got " + shape_str(out));
  if (!out.writeable()) throw py::value_error("out must be writeable");
  const Extent eo = extent_of(out, "out");
  if (overlaps(eo, extent_of(x, "x"))) throw py::value_error("out and x share memory");
  for (const Extent& e : self.param_extents)
    if (overlaps(eo, e)) throw py::value_error("out shares memory with " + e.what);
  ReleaseGil nogil;
  std::lock_guard<std::mutex> lock(self.mu);
  net_of<T>(self).predict(m, static_cast<const T*>(x.data()), static_cast<T*>(out.mutable_data()));
}

template <class T>
void forward_t(PyNetwork& self, const py::handle& xo, const py::handle& oo, bool training,
               std::uint64_t step) {
  py::array x = check_x<T>(self, xo);
  const std::int64_t m = x.shape(0);
  py::array out = batch_array<T>(oo, "out", 2);
  if (out.shape(0) != m || out.shape(1) != self.out_dim)
    throw py::value_error("out must have shape (" + std::to_string(m) + ", " +
                          std::to_string(self.out_dim) + "), got " + shape_str(out));
  if (!out.writeable()) throw py::value_error("out must be writeable");
  const Extent eo = extent_of(out, "out");
  if (overlaps(eo, extent_of(x, "x"))) throw py::value_error("out and x share memory");
  for (const Extent& e : self.param_extents)
    if (overlaps(eo, e)) throw py::value_error("out shares memory with " + e.what);
  ReleaseGil nogil;
  std::lock_guard<std::mutex> lock(self.mu);
  net_of<T>(self).forward(m, static_cast<const T*>(x.data()), training, step,
                          static_cast<T*>(out.mutable_data()));
}

template <class T>
py::tuple gradients_t(PyNetwork& self, const py::handle& x, const py::handle& y,
                      const py::handle& sw, std::int64_t step) {
  Batch<T> b = check_batch<T>(self, x, y, sw);
  py::list grads;
  std::vector<T*> ptrs;
  for (const auto& shape : self.param_shapes) {
    py::array_t<T> g(shape);
    ptrs.push_back(g.mutable_data());
    grads.append(g);
  }
  std::vector<double> out;
  {
    ReleaseGil nogil;
    std::lock_guard<std::mutex> lock(self.mu);
    net_of<T>(self).gradients(b.m, static_cast<const T*>(b.x.data()), b.t,
                              static_cast<std::uint64_t>(step), self.results.data(), ptrs.data());
    out = self.results;
  }
  return py::make_tuple(out[0], grads);
}

}  // namespace

void register_network(py::module_& m) {
  py::class_<PyNetwork>(m, "Network",
                        "The step executor: a dense network's training step in one call.\n\n"
                        "Built once from a spec dict (see lamina/_core.pyi); parameters and "
                        "optimizer slots stay numpy arrays that the core updates in place.")
      .def(py::init(&make), py::arg("spec"))
      .def("train_step",
           [](PyNetwork& self, const py::object& x, const py::object& y, const py::object& sw,
              double lr, std::int64_t iteration, const py::object& outputs) {
             if (!std::isfinite(lr))
               throw py::value_error("learning_rate must be finite, got " + repr_of(py::float_(lr)));
             if (iteration < 1)
               throw py::value_error("iteration must be >= 1 (1-based), got " +
                                     std::to_string(iteration));
             return self.f64 ? train_step_t<double>(self, x, y, sw, lr, iteration, outputs)
                             : train_step_t<float>(self, x, y, sw, lr, iteration, outputs);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("learning_rate"),
           py::arg("iteration"), py::arg("outputs") = py::none(),
           "One training step in place; returns (loss, weight_sum, metric_sum_0, ...). "
           "outputs, when given, receives the forward pass's network outputs (m, out_dim).")
      .def("evaluate",
           [](PyNetwork& self, const py::object& x, const py::object& y, const py::object& sw,
              const py::object& outputs) {
             return self.f64 ? evaluate_t<double>(self, x, y, sw, outputs)
                             : evaluate_t<float>(self, x, y, sw, outputs);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight") = py::none(),
           py::arg("outputs") = py::none(),
           "Loss and metric sums without dropout and without update; the network outputs "
           "into `outputs` (m, output_dim) when given.")
      .def("forward_train",
           [](PyNetwork& self, const py::object& x, const py::object& out,
              std::int64_t iteration, bool update_state) {
             if (iteration < 0)
               throw py::value_error("iteration must be >= 0, got " + std::to_string(iteration));
             if (self.f64)
               forward_train_t<double>(self, x, out, iteration, update_state);
             else
               forward_train_t<float>(self, x, out, iteration, update_state);
           },
           py::arg("x"), py::arg("out"), py::arg("iteration"), py::arg("update_state") = true,
           "First half of a step with an external loss: the training forward of train_step "
           "(masks of `iteration`), outputs into out; activations kept for backward_update.")
      .def("backward_update",
           [](PyNetwork& self, const py::object& y, const py::object& sw, const py::object& dy,
              double lr, std::int64_t iteration) {
             if (!std::isfinite(lr))
               throw py::value_error("learning_rate must be finite, got " + repr_of(py::float_(lr)));
             if (iteration < 1)
               throw py::value_error("iteration must be >= 1 (1-based), got " +
                                     std::to_string(iteration));
             return self.f64 ? backward_update_t<double>(self, y, sw, dy, lr, iteration)
                             : backward_update_t<float>(self, y, sw, dy, lr, iteration);
           },
           py::arg("y"), py::arg("sample_weight"), py::arg("dy"), py::arg("learning_rate"),
           py::arg("iteration"),
           "Second half: backward from dy = dL/d(outputs), penalties, clipping, update; returns "
           "(penalty, weight_sum, metric_sum_0, ...).")
      .def("backward_gradients",
           [](PyNetwork& self, const py::object& y, const py::object& sw, const py::object& dy) {
             return self.f64 ? backward_gradients_t<double>(self, y, sw, dy)
                             : backward_gradients_t<float>(self, y, sw, dy);
           },
           py::arg("y"), py::arg("sample_weight"), py::arg("dy"),
           "backward_update without the update: (penalty, [g_kernel0, g_bias0, ...]).")
      .def("predict",
           [](PyNetwork& self, const py::object& x, const py::object& out) {
             if (self.f64)
               predict_t<double>(self, x, out);
             else
               predict_t<float>(self, x, out);
           },
           py::arg("x"), py::arg("out"), "Writes the network outputs (m, output_dim) into out.")
      .def("forward",
           [](PyNetwork& self, const py::object& x, const py::object& out, bool training,
              std::int64_t step) {
             if (step < 0) throw py::value_error("step must be >= 0, got " + std::to_string(step));
             if (self.f64)
               forward_t<double>(self, x, out, training, static_cast<std::uint64_t>(step));
             else
               forward_t<float>(self, x, out, training, static_cast<std::uint64_t>(step));
           },
           py::arg("x"), py::arg("out"), py::arg("training"), py::arg("step"),
           "Writes the outputs into out; training=True runs dropout/noise with the masks of "
           "`step` and batch statistics, without updating anything.")
      .def("gradients",
           [](PyNetwork& self, const py::object& x, const py::object& y, const py::object& sw,
              std::int64_t step) {
             if (step < 0) throw py::value_error("step must be >= 0, got " + std::to_string(step));
             return self.f64 ? gradients_t<double>(self, x, y, sw, step)
                             : gradients_t<float>(self, x, y, sw, step);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("step"),
           "(loss, [g_kernel0, g_bias0, ...]) with the dropout masks of `step`; no update.")
      .def("__repr__",
           [](const PyNetwork& s) {
             return "<lamina._core.Network " + std::string(s.f64 ? "float64" : "float32") +
                    " " + std::to_string(s.in_dim) + " -> " + std::to_string(s.out_dim) +
                    ", " + std::to_string(s.n_params) + " parameters>";
           })
      .def_property_readonly("input_dim", [](const PyNetwork& s) { return s.in_dim; })
      .def_property_readonly("output_dim", [](const PyNetwork& s) { return s.out_dim; })
      .def_property_readonly("num_params", [](const PyNetwork& s) { return s.n_params; })
      .def_property_readonly("external_loss", [](const PyNetwork& s) {
        return s.f64 ? s.nd->external_loss() : s.nf->external_loss();
      }, "Whether the loss is computed outside the core (forward_train + backward_update).")
      .def_property_readonly("dtype", [](const PyNetwork& s) {
        return std::string(s.f64 ? "float64" : "float32");
      })
      .def_property_readonly("capacity", [](PyNetwork& s) {
        ReleaseGil nogil;
        std::lock_guard<std::mutex> lock(s.mu);
        return s.f64 ? s.nd->capacity() : s.nf->capacity();
      }, "Rows the buffer arena holds now (it grows only when a batch is larger).")
      .def_property_readonly("last_penalty", [](PyNetwork& s) {
        std::lock_guard<std::mutex> lock(s.mu);
        return s.f64 ? s.nd->last_penalty() : s.nf->last_penalty();
      }, "The L1/L2 penalty the last train_step / evaluate / gradients call added to its "
         "loss (of the weights before the update); 0.0 before any call.");
}

}  // namespace lamina::bind
