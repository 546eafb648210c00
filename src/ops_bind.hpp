// Shared checks of the element-wise kernel bindings (register_ops.cpp, register_losses.cpp):
// float arrays viewed as (rows, cols) matrices with a unit inner stride, overlap tests, and the
// accepted-name lists for error messages.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "bindings.hpp"

namespace lamina::bind::ops {

// 0 = float32, 1 = float64; throws TypeError naming `what` and the dtype otherwise.
inline int float_kind(const py::array& a, const char* what) {
  if (same_dtype(a.dtype(), py::dtype::of<float>())) return 0;
  if (same_dtype(a.dtype(), py::dtype::of<double>())) return 1;
  throw py::type_error(std::string(what) + " must be float32 or float64, got dtype " +
                       std::string(py::str(a.dtype())));
}

// A 2-D float array as (rows, cols, ld) in elements; the inner stride must be one element.
struct Mat {
  void* data = nullptr;
  std::int64_t rows = 0, cols = 0, ld = 0;
};

inline Mat as_mat(const py::array& a, const char* what, bool writable) {
  if (a.ndim() != 2)
    throw py::value_error(std::string(what) + " must be 2-D (rows, cols), got shape " +
                          shape_str(a));
  const auto item = static_cast<py::ssize_t>(a.itemsize());
  if (a.size() == 0) {  // nothing is read or written: strides do not matter
    if (writable && !a.writeable()) throw py::value_error(std::string(what) + " is read-only");
    Mat m;
    m.data = const_cast<void*>(a.data());
    m.rows = a.shape(0);
    m.cols = a.shape(1);
    m.ld = a.shape(1);
    return m;
  }
  if (a.shape(1) > 1 && a.strides(1) != item)
    throw py::value_error(std::string(what) + " must have contiguous rows (inner stride " +
                          std::to_string(item) + " bytes), got strides (" +
                          std::to_string(a.strides(0)) + ", " + std::to_string(a.strides(1)) +
                          ")");
  if (a.strides(0) % item != 0)
    throw py::value_error(std::string(what) + " row stride " + std::to_string(a.strides(0)) +
                          " is not a multiple of the item size");
  if (writable) {
    if (!a.writeable()) throw py::value_error(std::string(what) + " is read-only");
    if (a.shape(0) > 1 && a.strides(0) < a.shape(1) * item)
      throw py::value_error(std::string(what) + " rows overlap (row stride " +
                            std::to_string(a.strides(0)) + " bytes)");
  }
  Mat m;
  m.data = const_cast<void*>(a.data());
  m.rows = a.shape(0);
  m.cols = a.shape(1);
  m.ld = a.strides(0) / item;
  return m;
}

// Byte range [lo, hi) an array touches (empty arrays: lo == hi).
inline void extent(const py::array& a, std::uintptr_t* lo, std::uintptr_t* hi) {
  auto p = reinterpret_cast<std::uintptr_t>(a.data());
  std::intptr_t min_off = 0, max_off = 0;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (a.shape(d) == 0) {
      *lo = *hi = p;
      return;
    }
    const std::intptr_t span = static_cast<std::intptr_t>(a.strides(d)) * (a.shape(d) - 1);
    if (span < 0) min_off += span; else max_off += span;
  }
  *lo = p + min_off;
  *hi = p + max_off + a.itemsize();
}

inline bool overlaps(const py::array& a, const py::array& b) {
  std::uintptr_t alo, ahi, blo, bhi;
  extent(a, &alo, &ahi);
  extent(b, &blo, &bhi);
  return alo < bhi && blo < ahi;
}

// Same memory, same layout: the in-place case the kernels allow.
inline bool same_view(const py::array& a, const py::array& b) {
  if (a.data() != b.data() || a.ndim() != b.ndim()) return false;
  for (py::ssize_t d = 0; d < a.ndim(); ++d)
    if (a.shape(d) != b.shape(d) || (a.shape(d) > 1 && a.strides(d) != b.strides(d)))
      return false;
  return true;
}

// `out` may be exactly `in` (when allowed) or disjoint from it.
inline void check_alias(const py::array& out, const char* out_name, const py::array& in,
                        const char* in_name, bool in_place_ok) {
  if (in_place_ok && same_view(out, in)) return;
  if (overlaps(out, in))
    throw py::value_error(std::string(out_name) + " overlaps " + in_name +
                          (in_place_ok ? " (only the exact same array is allowed)"
                                       : " (it must be a separate array)"));
}

inline void check_same_shape(const py::array& a, const char* an, const py::array& b,
                             const char* bn) {
  bool same = a.ndim() == b.ndim();
  for (py::ssize_t d = 0; same && d < a.ndim(); ++d) same = a.shape(d) == b.shape(d);
  if (!same)
    throw py::value_error(std::string(an) + " shape " + shape_str(a) + " does not match " + bn +
                          " shape " + shape_str(b));
}

inline void check_same_dtype(const py::array& a, const char* an, const py::array& b,
                             const char* bn) {
  if (!same_dtype(a.dtype(), b.dtype()))
    throw py::type_error(std::string(an) + " dtype " + std::string(py::str(a.dtype())) +
                         " does not match " + bn + " dtype " + std::string(py::str(b.dtype())));
}

template <class Table>
std::string names_list(const Table& names) {
  std::string s;
  for (const char* n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

}  // namespace lamina::bind::ops
