// GEMM: C := alpha * op(A) * op(B) + beta * C, then an optional fused epilogue.
//
// Contract (all sizes in elements, row-major, leading dimension = distance between rows):
// - op(A) is (m, k): A is (m, k) with lda >= k when !trans_a, or (k, m) with lda >= m when
//   trans_a. op(B) is (k, n): B is (k, n) with ldb >= n, or (n, k) with ldb >= k when trans_b.
//   C is (m, n) with ldc >= n. C must not overlap A or B.
// - beta == 0: C is not read (it may hold NaN/garbage). m, n or k == 0 is allowed (k == 0
//   gives C := beta * C, then the epilogue).
// - Epilogue, applied once per element after the full K reduction, in this order:
//   c += bias[j] (bias has n entries) ; c = act(c) (kGemmActRelu: max(c, 0)) ; then
//   post(ctx, i0, j0, rows, cols, &C[i0*ldc + j0], ldc) on each finished block of C, where the
//   caller may run any element-wise pass (another activation, dropout) while it is in cache.
//   Blocks are disjoint, cover C exactly once, and are at most a few dozen rows (MR-row strips);
//   post may run concurrently on several pool threads for different blocks. relu keeps NaN (like ops relu), so a NaN never hides behind a ReLU.
// - Determinism: work is split over output tiles only; the K reduction order is fixed, so the
//   result is bit-identical for every thread count. max_threads = 0 means the pool's size.
// - float and double are instantiated; the naive gemm_ref is the test oracle.
// - Paths (cpp/gemm/gemm.cpp): packed BLIS-style blocking for large problems, a direct
//   (no packing) path for small ones, chosen by shape and ISA only. LAMINA_GEMM_PATH=packed or
//   =direct (read once) forces one, for tests and tuning. Results differ between paths and ISA
//   levels by rounding only, never between thread counts.
#pragma once

#include <cstdint>

#include "lamina/runtime.hpp"

namespace lamina {

enum GemmAct : int { kGemmActNone = 0, kGemmActRelu = 1 };

template <class T>
struct GemmEpilogue {
  const T* bias = nullptr;  // (n,) added to every row of C; nullptr: no bias
  int act = kGemmActNone;   // fused in the store
  // Called once per finished block of C (after bias and act); may be nullptr.
  void (*post)(void* ctx, std::int64_t i0, std::int64_t j0, std::int64_t rows, std::int64_t cols,
               T* c, std::int64_t ldc) = nullptr;
  void* post_ctx = nullptr;
};

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
          std::int64_t ldc, const GemmEpilogue<T>* epilogue = nullptr, int max_threads = 0);

// Same contract, naive triple loop (accumulates in T, k innermost, in order).
template <class T>
void gemm_ref(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
              const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
              std::int64_t ldc, const GemmEpilogue<T>* epilogue = nullptr);

// Bias gradient: db[j] = beta * db[j] + sum_i dy[i, j] for dy (m, n) with row stride ldy.
// Rows are summed in order 0..m-1 (deterministic); beta == 0 does not read db.
template <class T>
void bias_grad(std::int64_t m, std::int64_t n, const T* dy, std::int64_t ldy, T beta, T* db);

// Block sizes of the packed path: MR x NR micro-tile (the kernel table's), MC rows of op(A)
// packed per round, KC the largest K block, NC columns of op(B) per task (cpp/gemm/blocking.cpp
// derives MC, KC, NC from the caches; the derivation is written there).
struct GemmBlocks {
  int mr, nr;
  std::int64_t mc, kc, nc;
};
// The blocking model for given cache sizes, ISA level and element type (f64: double).
GemmBlocks gemm_blocks_for(const CacheSizes& caches, Isa isa, bool f64);
// The blocks gemm<T> uses now: the model for cache_sizes() at the active ISA level.
template <class T>
GemmBlocks gemm_blocks();
// For tuning (in-process A/B of block sizes): pins MC, KC, NC for an ISA level and dtype, or
// (pin == nullptr) goes back to the model. MR and NR must be the kernel's, MC a multiple of
// MR, NC of NR, KC >= 1; returns false and changes nothing otherwise. Not for concurrent use
// with running GEMMs of that level and dtype.
bool set_gemm_blocks(Isa isa, bool f64, const GemmBlocks* pin);

// Name of the micro-kernel gemm<T> uses at the active ISA level ("gemm_avx512_f32_12x32").
template <class T>
const char* gemm_kernel_name();

// Float32 FMA peak of one core at the active ISA level, GFLOP/s: the best of repeated timed
// runs of independent FMA chains over about `seconds`. 0 for the generic level. For benchmarks.
double fma_peak_gflops(double seconds);

}  // namespace lamina
