// Bindings for the runtime: CPU dispatch level, build information and the thread pool.
#include "bindings.hpp"

#include "lamina/runtime.hpp"

#include <pybind11/stl.h>

namespace lamina::bind {

void register_runtime(py::module_& m) {
  main_thread_ident() =
      py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  m.def("max_isa", [] { return std::string(isa_name(max_supported_isa())); },
        "Highest ISA level this CPU and OS support.");
  m.def("active_isa", [] { return std::string(isa_name(active_isa())); },
        "ISA level the kernels dispatch on now.");
  m.def("supported_isas", [] {
    py::list out;
    for (Isa i : supported_isas()) out.append(isa_name(i));
    return out;
  }, "Supported ISA levels, lowest first.");
  m.def("set_isa", [](const std::string& name) {
    Isa isa;
    if (!parse_isa(name, &isa))
      throw py::value_error("ISA level '" + name + "' is not one of generic, avx2, avx512");
    if (!set_isa(isa))
      throw py::value_error("ISA level '" + name + "' is not supported by this CPU (highest: " +
                            isa_name(max_supported_isa()) + ")");
  }, py::arg("name"), "Sets the ISA level kernels use; it can only be at most max_isa().");
  m.def("isa_env_problem", [] { return isa_env_problem(); },
        "Why LAMINA_ISA was ignored at startup ('' when it was honoured or unset).");
  m.def("build_info", [] {
    BuildInfo b = build_info();
    py::dict d;
    d["compiler"] = b.compiler;
    d["build_type"] = b.build_type;
    d["flags"] = b.flags;
    d["x86_kernels"] = b.x86_kernels;
    return d;
  }, "Compiler, build type and flags the core was built with.");
  m.def("get_num_threads", [] { return num_threads(); }, "Threads the core uses.");
  m.attr("MAX_THREADS") = kMaxThreads;
  m.def("set_num_threads", [](int n) {
    if (n < 1 || n > kMaxThreads)
      throw py::value_error("num_threads must be in [1, " + std::to_string(kMaxThreads) +
                            "], got " + std::to_string(n));
    ReleaseGil nogil;
    set_num_threads(n);
  }, py::arg("n"), "Sets the threads the core uses (>= 1).");
  m.def("usable_cores", [] { return usable_cores(); }, "Cores this process may run on.");
}

}  // namespace lamina::bind
