// Bindings for the GEMM family: matmul (gemm with the bias/relu epilogue), matmul_bf16
// (gemm_bf16: bfloat16 operands, float32 accumulation), round_to_bf16, bias_grad, and the FMA
// and bf16 dot peak probes used by the benchmarks. Checks shapes, dtypes, row layout and
// aliasing, then releases the GIL and forwards raw pointers + leading dimensions to cpp/gemm.
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "bindings.hpp"
#include "lamina/gemm.hpp"
#include "lamina/gemm_bf16.hpp"

#include <pybind11/stl.h>

namespace lamina::bind {
namespace {

enum class Dt { f32, f64 };

Dt dtype_of(const py::array& x, const char* what) {
  if (same_dtype(x.dtype(), py::dtype::of<float>())) return Dt::f32;
  if (same_dtype(x.dtype(), py::dtype::of<double>())) return Dt::f64;
  throw py::value_error(std::string(what) + " must be float32 or float64, got dtype " +
                        std::string(py::str(x.dtype())));
}

// Row stride in elements of a 2-D array whose rows are contiguous; throws otherwise.
std::int64_t row_stride(const py::array& x, const char* what) {
  if (x.ndim() != 2)
    throw py::value_error(std::string(what) + " must be 2-D, got shape " + shape_str(x));
  const py::ssize_t item = x.itemsize();
  const py::ssize_t rows = x.shape(0), cols = x.shape(1);
  if (rows == 0 || cols == 0) return cols > 1 ? cols : 1;  // never dereferenced
  if (cols > 1 && x.strides(1) != item)
    throw py::value_error(std::string(what) + " with shape " + shape_str(x) +
                          " must have contiguous rows (strides " + std::to_string(x.strides(0)) +
                          ", " + std::to_string(x.strides(1)) + ")");
  if (rows <= 1) return cols > 1 ? cols : 1;
  const py::ssize_t s0 = x.strides(0);
  if (s0 <= 0 || s0 % item != 0 || s0 / item < cols)
    throw py::value_error(std::string(what) + " with shape " + shape_str(x) +
                          " has an unsupported row stride of " + std::to_string(s0) + " bytes");
  return static_cast<std::int64_t>(s0 / item);
}

// Byte range [lo, hi) an array may touch (hi == lo when empty).
std::pair<std::uintptr_t, std::uintptr_t> byte_range(const py::array& x) {
  const auto base = reinterpret_cast<std::uintptr_t>(x.data());
  std::uintptr_t lo = base, hi = base;
  for (py::ssize_t d = 0; d < x.ndim(); ++d)
    if (x.shape(d) == 0) return {base, base};
  std::intptr_t lo_off = 0, hi_off = 0;
  for (py::ssize_t d = 0; d < x.ndim(); ++d) {
    const std::intptr_t span = static_cast<std::intptr_t>(x.strides(d)) * (x.shape(d) - 1);
    if (span < 0) lo_off += span; else hi_off += span;
  }
  lo = base + lo_off;
  hi = base + hi_off + static_cast<std::uintptr_t>(x.itemsize());
  return {lo, hi};
}

bool overlaps(const py::array& x, const py::array& y) {
  const auto rx = byte_range(x), ry = byte_range(y);
  if (rx.first == rx.second || ry.first == ry.second) return false;
  return rx.first < ry.second && ry.first < rx.second;
}

// Which GEMM matmul_t runs: gemm<T>, or (T = float) gemm_bf16 / gemm_bf16_ref.
enum class Kind { plain, bf16, bf16_ref };

template <class T>
py::array matmul_t(const py::array& a, const py::array& b, bool trans_a, bool trans_b,
                   double alpha, double beta, std::optional<py::array> out,
                   std::optional<py::array> bias, int act, std::int64_t lda, std::int64_t ldb,
                   Kind kind = Kind::plain) {
  const std::int64_t m = trans_a ? a.shape(1) : a.shape(0);
  const std::int64_t k = trans_a ? a.shape(0) : a.shape(1);
  const std::int64_t kb = trans_b ? b.shape(1) : b.shape(0);
  const std::int64_t n = trans_b ? b.shape(0) : b.shape(1);
  auto shapes = [&] {
    return "a " + shape_str(a) + (trans_a ? " (transposed)" : "") + " and b " + shape_str(b) +
           (trans_b ? " (transposed)" : "");
  };
  if (k != kb)
    throw py::value_error("matmul: inner dimensions differ for " + shapes() + ": " +
                          std::to_string(k) + " != " + std::to_string(kb));
  py::array c;
  if (out) {
    c = *out;
    if (dtype_of(c, "out") != dtype_of(a, "a"))
      throw py::value_error("matmul: out has dtype " + std::string(py::str(c.dtype())) +
                            " but a has dtype " + std::string(py::str(a.dtype())));
    if (c.ndim() != 2 || c.shape(0) != m || c.shape(1) != n)
      throw py::value_error("matmul: out has shape " + shape_str(c) + " but " + shapes() +
                            " give (" + std::to_string(m) + ", " + std::to_string(n) + ")");
    if (!c.writeable()) throw py::value_error("matmul: out is read-only");
    if (overlaps(c, a) || overlaps(c, b))
      throw py::value_error("matmul: out " + shape_str(c) + " overlaps an input (" + shapes() +
                            ")");
  } else {
    if (beta != 0.0)
      throw py::value_error("matmul: beta=" + std::to_string(beta) +
                            " needs out= (the C that beta scales)");
    c = py::array_t<T>({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(n)});
  }
  const std::int64_t ldc = row_stride(c, "out");
  const T* bias_ptr = nullptr;
  if (bias) {
    const py::array& bb = *bias;
    if (dtype_of(bb, "bias") != dtype_of(a, "a"))
      throw py::value_error("matmul: bias has dtype " + std::string(py::str(bb.dtype())) +
                            " but a has dtype " + std::string(py::str(a.dtype())));
    if (bb.ndim() != 1 || bb.shape(0) != n)
      throw py::value_error("matmul: bias has shape " + shape_str(bb) + " but the output has " +
                            std::to_string(n) + " columns");
    if (n > 1 && bb.strides(0) != bb.itemsize())
      throw py::value_error("matmul: bias must be contiguous");
    if (overlaps(c, bb))
      throw py::value_error("matmul: out " + shape_str(c) + " overlaps bias " + shape_str(bb));
    bias_ptr = static_cast<const T*>(bb.data());
  }
  GemmEpilogue<T> ep;
  ep.bias = bias_ptr;
  ep.act = act;
  const T* pa = static_cast<const T*>(a.data());
  const T* pb = static_cast<const T*>(b.data());
  T* pc = static_cast<T*>(c.mutable_data());
  {
    ReleaseGil nogil;
    if constexpr (std::is_same<T, float>::value) {
      if (kind == Kind::bf16) {
        gemm_bf16(trans_a, trans_b, m, n, k, static_cast<float>(alpha), pa, lda, pb, ldb,
                  static_cast<float>(beta), pc, ldc, &ep);
        return c;
      }
      if (kind == Kind::bf16_ref) {
        gemm_bf16_ref(trans_a, trans_b, m, n, k, static_cast<float>(alpha), pa, lda, pb, ldb,
                      static_cast<float>(beta), pc, ldc, &ep);
        return c;
      }
    }
    gemm<T>(trans_a, trans_b, m, n, k, static_cast<T>(alpha), pa, lda, pb, ldb,
            static_cast<T>(beta), pc, ldc, &ep);
  }
  return c;
}

template <class T>
py::array bias_grad_t(const py::array& dy, std::optional<py::array> out, std::int64_t ldy) {
  const std::int64_t m = dy.shape(0), n = dy.shape(1);
  py::array db;
  if (out) {
    db = *out;
    if (dtype_of(db, "out") != dtype_of(dy, "dy"))
      throw py::value_error("bias_grad: out has dtype " + std::string(py::str(db.dtype())) +
                            " but dy has dtype " + std::string(py::str(dy.dtype())));
    if (db.ndim() != 1 || db.shape(0) != n)
      throw py::value_error("bias_grad: out has shape " + shape_str(db) + " but dy " +
                            shape_str(dy) + " has " + std::to_string(n) + " columns");
    if (n > 1 && db.strides(0) != db.itemsize())
      throw py::value_error("bias_grad: out must be contiguous");
    if (!db.writeable()) throw py::value_error("bias_grad: out is read-only");
    if (overlaps(db, dy))
      throw py::value_error("bias_grad: out " + shape_str(db) + " overlaps dy " + shape_str(dy));
  } else {
    db = py::array_t<T>(static_cast<py::ssize_t>(n));
  }
  const T* p = static_cast<const T*>(dy.data());
  T* q = static_cast<T*>(db.mutable_data());
  {
    ReleaseGil nogil;
    bias_grad<T>(m, n, p, ldy, T(0), q);
  }
  return db;
}

// `out` must already be an ndarray: converting a list would write into a temporary copy.
std::optional<py::array> out_array(const py::object& out, const char* fn) {
  if (out.is_none()) return std::nullopt;
  if (!py::isinstance<py::array>(out))
    throw py::type_error(std::string(fn) + ": out must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(out).attr("__name__"))));
  return out.cast<py::array>();
}

int parse_activation(const std::optional<std::string>& activation) {
  if (!activation || *activation == "linear") return kGemmActNone;
  if (*activation == "relu") return kGemmActRelu;
  throw py::value_error("matmul: activation '" + *activation +
                        "' is not one of None, 'linear', 'relu'");
}

py::dict blocks_dict(const GemmBlocks& b) {
  py::dict d;
  d["MR"] = b.mr;
  d["NR"] = b.nr;
  d["MC"] = b.mc;
  d["KC"] = b.kc;
  d["NC"] = b.nc;
  return d;
}

bool dtype_is_f64(const std::string& dtype, const char* what) {
  if (dtype == "float32") return false;
  if (dtype == "float64") return true;
  throw py::value_error(std::string(what) + ": dtype '" + dtype +
                        "' is not 'float32' or 'float64'");
}

}  // namespace

void register_gemm(py::module_& m) {
  m.def(
      "gemm_blocks",
      [](const std::string& dtype) {
        if (dtype == "bfloat16") return blocks_dict(gemm_bf16_blocks());
        return blocks_dict(dtype_is_f64(dtype, "gemm_blocks") ? gemm_blocks<double>()
                                                                : gemm_blocks<float>());
      },
      py::arg("dtype") = "float32",
      "Blocks the packed GEMM ('float32', 'float64'; 'bfloat16': gemm_bf16's) uses now at the "
      "active ISA: {'MR', 'NR', 'MC', 'KC', 'NC'}.");
  m.def(
      "set_gemm_blocks",
      [](const std::string& dtype, const py::object& blocks) {
        const bool f64 = dtype_is_f64(dtype, "set_gemm_blocks");
        const Isa isa = active_isa();
        if (blocks.is_none()) {
          set_gemm_blocks(isa, f64, nullptr);
          return;
        }
        const py::dict d = blocks.cast<py::dict>();
        GemmBlocks b = f64 ? gemm_blocks<double>() : gemm_blocks<float>();
        for (auto item : d) {
          const std::string key = py::str(item.first);
          const long long v = item.second.cast<long long>();
          if (key == "MR") b.mr = static_cast<int>(v);
          else if (key == "NR") b.nr = static_cast<int>(v);
          else if (key == "MC") b.mc = v;
          else if (key == "KC") b.kc = v;
          else if (key == "NC") b.nc = v;
          else
            throw py::value_error("set_gemm_blocks: key '" + key +
                                  "' is not one of MR, NR, MC, KC, NC");
        }
        if (!set_gemm_blocks(isa, f64, &b))
          throw py::value_error("set_gemm_blocks: " + std::string(py::repr(blocks)) +
                                " is not a valid blocking for the " + isa_name(isa) + " " +
                                dtype + " kernel (MR, NR fixed; MC a multiple of MR, NC of NR)");
      },
      py::arg("dtype"), py::arg("blocks"),
      "For tuning: pins MC/KC/NC (a dict with any of them) at the active ISA level for dtype; "
      "None goes back to the blocking model.");
  m.def(
      "gemm_blocks_for",
      [](const py::dict& caches, const std::string& isa, const std::string& dtype) {
        const CacheSizes c = caches_from_dict(caches, "gemm_blocks_for");
        Isa level;
        if (!parse_isa(isa, &level))
          throw py::value_error("gemm_blocks_for: ISA level '" + isa +
                                "' is not one of generic, avx2, avx512, avx512_bf16");
        return blocks_dict(gemm_blocks_for(c, level, dtype_is_f64(dtype, "gemm_blocks_for")));
      },
      py::arg("caches"), py::arg("isa"), py::arg("dtype") = "float32",
      "The blocking model: blocks for these cache sizes ({'l1d', 'l2', 'l3'} in bytes), ISA "
      "level and dtype, whatever this CPU is.");

  m.def(
      "matmul",
      [](const py::array& a, const py::array& b, bool trans_a, bool trans_b, double alpha,
         double beta, const py::object& out_obj, std::optional<py::array> bias,
         std::optional<std::string> activation) -> py::array {
        const std::optional<py::array> out = out_array(out_obj, "matmul");
        const Dt da = dtype_of(a, "a"), db = dtype_of(b, "b");
        if (da != db)
          throw py::value_error("matmul: a " + shape_str(a) + " has dtype " +
                                std::string(py::str(a.dtype())) + " but b " + shape_str(b) +
                                " has dtype " + std::string(py::str(b.dtype())));
        const std::int64_t lda = row_stride(a, "a"), ldb = row_stride(b, "b");
        const int act = parse_activation(activation);
        if (da == Dt::f32)
          return matmul_t<float>(a, b, trans_a, trans_b, alpha, beta, out, bias, act, lda, ldb);
        return matmul_t<double>(a, b, trans_a, trans_b, alpha, beta, out, bias, act, lda, ldb);
      },
      py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("out") = py::none(),
      py::arg("bias") = py::none(), py::arg("activation") = py::none(),
      "out := alpha * op(a) @ op(b) + beta * out (+ bias, activation); 2-D float32/float64 "
      "arrays with contiguous rows. Returns out.");
  m.def(
      "matmul_bf16",
      [](const py::array& a, const py::array& b, bool trans_a, bool trans_b, double alpha,
         double beta, const py::object& out_obj, std::optional<py::array> bias,
         std::optional<std::string> activation, bool reference) -> py::array {
        const std::optional<py::array> out = out_array(out_obj, "matmul_bf16");
        auto need_f32 = [](const py::array& x, const char* what) {
          if (dtype_of(x, what) != Dt::f32)
            throw py::value_error(std::string("matmul_bf16: ") + what + " " + shape_str(x) +
                                  " must be float32 (rounded to bfloat16 inside), got dtype " +
                                  std::string(py::str(x.dtype())));
        };
        need_f32(a, "a");
        need_f32(b, "b");
        const std::int64_t lda = row_stride(a, "a"), ldb = row_stride(b, "b");
        const int act = parse_activation(activation);
        return matmul_t<float>(a, b, trans_a, trans_b, alpha, beta, out, bias, act, lda, ldb,
                               reference ? Kind::bf16_ref : Kind::bf16);
      },
      py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("out") = py::none(),
      py::arg("bias") = py::none(), py::arg("activation") = py::none(),
      py::arg("reference") = false,
      "out := alpha * bf16(op(a)) @ bf16(op(b)) + beta * out (+ bias, activation): float32 "
      "arrays, operands rounded to bfloat16, float32 accumulation (lamina/gemm_bf16.hpp). "
      "reference=True runs the naive gemm_bf16_ref. Returns out.");
  m.def(
      "round_to_bf16",
      [](const py::array& x) -> py::array {
        if (dtype_of(x, "x") != Dt::f32)
          throw py::value_error("round_to_bf16: x must be float32, got dtype " +
                                std::string(py::str(x.dtype())));
        py::array_t<float, py::array::c_style | py::array::forcecast> src(x);
        py::array_t<float> out(src.request().shape);
        const float* p = src.data();
        float* q = out.mutable_data();
        const py::ssize_t n = src.size();
        for (py::ssize_t i = 0; i < n; ++i) q[i] = round_to_bf16(p[i]);
        return out;
      },
      py::arg("x"),
      "float32 array rounded to the nearest bfloat16 (ties to even; subnormals to signed zero, "
      "NaN quieted, as VCVTNEPS2BF16), returned as float32.");
  m.def(
      "bias_grad",
      [](const py::array& dy, const py::object& out_obj) -> py::array {
        const std::optional<py::array> out = out_array(out_obj, "bias_grad");
        const Dt d = dtype_of(dy, "dy");
        const std::int64_t ldy = row_stride(dy, "dy");
        if (d == Dt::f32) return bias_grad_t<float>(dy, out, ldy);
        return bias_grad_t<double>(dy, out, ldy);
      },
      py::arg("dy"), py::arg("out") = py::none(),
      "Column sums of dy (m, n) -> (n,), rows added in order. Returns out.");
  m.def(
      "gemm_kernel_name",
      [](const std::string& dtype) -> std::string {
        if (dtype == "float32") return gemm_kernel_name<float>();
        if (dtype == "float64") return gemm_kernel_name<double>();
        if (dtype == "bfloat16") return gemm_bf16_kernel_name();
        throw py::value_error("gemm_kernel_name: dtype '" + dtype +
                              "' is not 'float32', 'float64' or 'bfloat16'");
      },
      py::arg("dtype") = "float32",
      "Micro-kernel gemm (or, for 'bfloat16', gemm_bf16) uses at the active ISA level.");
  m.def(
      "fma_peak_gflops",
      [](double seconds) {
        if (!(seconds > 0.0 && seconds <= 10.0))
          throw py::value_error("fma_peak_gflops: seconds must be in (0, 10], got " +
                                std::to_string(seconds));
        ReleaseGil nogil;
        return fma_peak_gflops(seconds);
      },
      py::arg("seconds") = 0.2,
      "Float32 FMA peak of one core at the active ISA level, GFLOP/s (0 for generic).");
  m.def(
      "bf16_dot_peak_gflops",
      [](double seconds) {
        if (!(seconds > 0.0 && seconds <= 10.0))
          throw py::value_error("bf16_dot_peak_gflops: seconds must be in (0, 10], got " +
                                std::to_string(seconds));
        ReleaseGil nogil;
        return bf16_dot_peak_gflops(seconds);
      },
      py::arg("seconds") = 0.2,
      "vdpbf16ps multiply-add peak of one core, GFLOP/s (0 below the avx512_bf16 level).");
}

}  // namespace lamina::bind
