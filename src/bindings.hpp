// Shared declarations for the binding files: one register_<concept>(m) per concept, and the
// small helpers every binding uses to check arrays before handing raw pointers to the core.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#if defined(__GLIBCXX__)
#include <cxxabi.h>
#endif

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

// The main thread's id (set by register_runtime at import from threading.main_thread()).
inline unsigned long& main_thread_ident() {
  static unsigned long ident = 0;
  return ident;
}

// True once the interpreter is finalizing and this is not the thread finalizing it (the main
// thread). Readable without the GIL.
inline bool finalizing_elsewhere() {
#if PY_VERSION_HEX >= 0x030D0000
  const bool finalizing = Py_IsFinalizing() != 0;
#else
  const bool finalizing = _Py_IsFinalizing() != 0;
#endif
  return finalizing && PyThread_get_thread_ident() != main_thread_ident();
}

// Parks the calling thread until the process ends (the OS ends it with the process).
[[noreturn]] inline void park_forever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

// Releases the GIL around a core call (use instead of py::gil_scoped_release).
//
// At interpreter exit a daemon thread coming back from the core must not take the GIL: before
// Python 3.14, CPython ends such a thread with pthread_exit from inside the re-acquire
// (take_gil drops the GIL first). On glibc that is a forced unwind through the binding's
// frames, whose destructors (pybind11's argument casters, temporaries) then drop Python
// references with no thread state: on 3.13 freeing one dereferences the missing thread state
// (SIGSEGV at exit); on 3.9-3.12 it races the finalizing thread; and through pybind11's
// noexcept destructor it calls std::terminate ("terminate called without an active
// exception"). This guard parks the thread instead, what Python 3.14 does: before the
// re-acquire when finalization has already begun, and when the re-acquire itself ends the
// thread (finalization began while this thread waited for the GIL, the common case: the
// finalizing thread holds it) by catching the forced unwind and never leaving the handler,
// so nothing below this frame is unwound. (Leaving the handler without rethrowing would make
// glibc abort; it is never left.)
class ReleaseGil {
 public:
  ReleaseGil() : state_(PyEval_SaveThread()) {}
  ~ReleaseGil() noexcept(false) {  // never throws on glibc; elsewhere a forced unwind passes
    if (finalizing_elsewhere()) park_forever();
#if defined(__GLIBCXX__)
    try {
      PyEval_RestoreThread(state_);
    } catch (abi::__forced_unwind&) {
      park_forever();
    }
#else
    PyEval_RestoreThread(state_);
#endif
  }
  ReleaseGil(const ReleaseGil&) = delete;
  ReleaseGil& operator=(const ReleaseGil&) = delete;

 private:
  PyThreadState* state_;
};

// Whether dtype `a` is `want`: equivalent, not necessarily the same object (an array that went
// through pickle, e.g. from a multiprocessing queue or a pickled model, carries its own
// float32 dtype object, equal to numpy's but not identical).
inline bool same_dtype(const py::dtype& a, const py::dtype& want) {
  return a.is(want) || py::detail::npy_api::get().PyArray_EquivTypes_(a.ptr(), want.ptr());
}

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
