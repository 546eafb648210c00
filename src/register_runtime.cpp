// Bindings for the runtime: CPU dispatch level, build information and the thread pool.
#include "bindings.hpp"

#include "lamina/runtime.hpp"

#include <pybind11/stl.h>

// C entry points for threadpoolctl: lamina.runtime registers a threadpoolctl controller that
// finds this extension among the loaded shared libraries and calls these through ctypes, so
// `threadpool_limits(n)` (and joblib, scikit-learn, Dask code that uses it) limits lamina's
// pool as it limits BLAS and OpenMP. The extension is built with hidden visibility: these two
// are exported by name. They never throw (a C caller could not catch it).
#if defined(_WIN32)
#define LAMINA_C_API extern "C" __declspec(dllexport)
#else
#define LAMINA_C_API extern "C" __attribute__((visibility("default")))
#endif

// Threads the core uses (>= 1).
LAMINA_C_API int lamina_get_num_threads() noexcept {
  try {
    return lamina::num_threads();
  } catch (...) {
    return 1;
  }
}

// Sets the threads the core uses, clamped to [1, MAX_THREADS]; returns the count now in use,
// or -1 when the pool could not be resized (the count is then unchanged).
LAMINA_C_API int lamina_set_num_threads(int n) noexcept {
  try {
    lamina::set_num_threads(n < 1 ? 1 : (n > lamina::kMaxThreads ? lamina::kMaxThreads : n));
    return lamina::num_threads();
  } catch (...) {
    return -1;
  }
}

namespace lamina::bind {

py::dict caches_dict(const CacheSizes& c) {
  py::dict d;
  d["l1d"] = c.l1d;
  d["l2"] = c.l2;
  d["l3"] = c.l3;
  return d;
}

// {"l1d": bytes, "l2": bytes, "l3": bytes} (every key required) -> CacheSizes; ValueError
// naming the bad entry otherwise.
CacheSizes caches_from_dict(const py::dict& d, const char* what) {
  CacheSizes c;
  for (auto item : d) {
    const std::string key = py::str(item.first);
    if (key != "l1d" && key != "l2" && key != "l3")
      throw py::value_error(std::string(what) + ": key '" + key +
                            "' is not one of 'l1d', 'l2', 'l3'");
  }
  auto get = [&](const char* key) -> std::int64_t {
    if (!d.contains(key))
      throw py::value_error(std::string(what) + ": missing '" + key +
                            "' (cache sizes in bytes: l1d, l2, l3)");
    py::object v = d[key];
    if (py::isinstance<py::bool_>(v) || !py::isinstance<py::int_>(v))
      throw py::value_error(std::string(what) + ": '" + key + "' must be an int (bytes), got " +
                            std::string(py::repr(v)));
    const long long b = v.cast<long long>();
    if (b < kMinCacheBytes || b > kMaxCacheBytes)
      throw py::value_error(std::string(what) + ": '" + key + "' = " + std::to_string(b) +
                            " bytes is outside [4096, 2**34]");
    return static_cast<std::int64_t>(b);
  };
  c.l1d = get("l1d");
  c.l2 = get("l2");
  c.l3 = get("l3");
  return c;
}

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
  m.def("cpu_model", [] { return cpu_model(); }, "The CPU's name (CPUID brand string or /proc/cpuinfo).");
  m.def("cache_sizes", [] { return caches_dict(cache_sizes()); },
        "Data cache sizes in use, bytes per core: {'l1d', 'l2', 'l3'} (after LAMINA_CACHES).");
  m.def("detected_cache_sizes", [] { return caches_dict(detected_cache_sizes()); },
        "Data cache sizes the hardware reported, before any override.");
  m.def("cache_sources", [] {
    const CacheSources s = detected_cache_sources();
    py::dict d;
    d["l1d"] = s.l1d;
    d["l2"] = s.l2;
    d["l3"] = s.l3;
    return d;
  }, "Where each detected size came from: 'cpuid', 'sysfs' or 'default'.");
  m.def("set_cache_sizes", [](const py::dict& caches) {
    const CacheSizes c = caches_from_dict(caches, "set_cache_sizes");
    ReleaseGil nogil;
    set_cache_sizes(c);
  }, py::arg("caches"),
     "Replaces the cache sizes in use (and so the GEMM blocks); for benchmarks and tests.");
  m.def("parse_cache_sizes", [](const std::string& text) {
    CacheSizes c = cache_sizes();
    std::string why;
    if (!parse_cache_sizes(text, &c, &why))
      throw py::value_error("cache sizes '" + text + "': " + why);
    return caches_dict(c);
  }, py::arg("text"),
     "Parses a LAMINA_CACHES value ('l1d=32K,l2=512K,l3=32M', any subset) onto the sizes in use.");
  m.def("caches_env_problem", [] { return caches_env_problem(); },
        "Why LAMINA_CACHES was ignored at startup ('' when it was honoured or unset).");
  m.def("usable_cores", [] { return usable_cores(); }, "Cores this process may run on.");
}

}  // namespace lamina::bind
