// lamina._core: creates the module and registers one concept per file.
#include "bindings.hpp"

#ifndef LAMINA_VERSION
#error "LAMINA_VERSION must be defined by the build (from python/lamina/_version.py)"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "lamina's compiled core (C++). Use the lamina package, not this module directly.";
  m.attr("__version__") = LAMINA_VERSION;
  lamina::bind::register_runtime(m);
  lamina::bind::register_network(m);
  lamina::bind::register_gemm(m);
  lamina::bind::register_optim(m);
  lamina::bind::register_ops(m);
  lamina::bind::register_losses(m);
  lamina::bind::register_data(m);
}
