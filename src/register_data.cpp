// Bindings of the data path: lamina._core.permutation (the shuffle of each epoch in fit).
#include "bindings.hpp"

#include "lamina/data.hpp"

namespace lamina::bind {

namespace {

py::array_t<std::int64_t> permutation_py(std::int64_t n, std::uint64_t seed, std::uint64_t epoch,
                                         bool reference) {
  if (n < 0) throw py::value_error("permutation size must be >= 0, got " + std::to_string(n));
  py::array_t<std::int64_t> out(static_cast<py::ssize_t>(n));
  std::int64_t* p = out.mutable_data();
  {
    ReleaseGil nogil;
    (reference ? permutation_ref : permutation)(n, seed, epoch, p);
  }
  return out;
}

}  // namespace

void register_data(py::module_& m) {
  m.def("permutation", &permutation_py, py::arg("n"), py::arg("seed"), py::arg("epoch"),
        py::kw_only(), py::arg("reference") = false,
        "Returns a reproducible permutation of range(n) (int64) for (seed, epoch): the "
        "shuffle of one epoch in fit. reference=True runs the plain reference loop.");
}

}  // namespace lamina::bind
