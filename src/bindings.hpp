// Shared declarations for the binding files: one register_<concept>(m) per concept, and the
// small helpers every binding uses to check arrays before handing raw pointers to the core.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "lamina/runtime.hpp"

namespace lamina::bind {

namespace py = pybind11;

void register_runtime(py::module_& m);
void register_network(py::module_& m);
void register_gemm(py::module_& m);
void register_optim(py::module_& m);
void register_ops(py::module_& m);     // activations, dropout (register_ops.cpp)
void register_losses(py::module_& m);  // losses, metrics (register_losses.cpp)
void register_data(py::module_& m);    // the epoch shuffle (register_data.cpp)

// Cache sizes <-> {"l1d": bytes, "l2": bytes, "l3": bytes} (register_runtime.cpp); the reader
// requires all three keys and throws ValueError naming `what` and the bad entry.
py::dict caches_dict(const CacheSizes& c);
CacheSizes caches_from_dict(const py::dict& d, const char* what);

// "(3, 4)" for error messages.
inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

}  // namespace lamina::bind
