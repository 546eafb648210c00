// Internal to cpp/gemm/: the pieces the float (gemm.cpp) and bf16 (gemm_bf16.cpp) drivers
// share: packing scratch, the task runner, the k == 0 case, the thread count for a size, and
// the weight gradient's split into row bands.
//
// Contract: none of these changes what an element of C is computed from; they decide where
// panels live and which pool thread runs which piece. run_row_bands hands each band a
// contiguous, MR-aligned range of rows, so the micro-kernel calls per element are those of one
// thread (the drivers' bit-identity across thread counts rests on that).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "lamina/gemm.hpp"
#include "lamina/runtime.hpp"

namespace lamina {
namespace gemm_detail {

inline std::int64_t cdiv(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
inline std::int64_t min64(std::int64_t a, std::int64_t b) { return a < b ? a : b; }

// A grow-only, 64-byte aligned scratch buffer (one per thread and purpose).
template <class T>
struct Scratch {
  T* ptr = nullptr;
  std::size_t cap = 0;
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(ptr); }
  T* get(std::size_t n) {
    if (n > cap) {
      std::free(ptr);
      ptr = nullptr;
      cap = 0;
      const std::size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
      void* p = std::aligned_alloc(64, bytes);
      if (!p) throw std::bad_alloc();
      ptr = static_cast<T*>(p);
      cap = n;
    }
    return ptr;
  }
};

// The calling thread's packed-A and packed-B buffers for element type T (shared by the float
// and bf16 drivers: a GEMM never runs inside another on the same thread).
template <class T>
T* a_scratch(std::size_t n) {
  thread_local Scratch<T> s;
  return s.get(n);
}
template <class T>
T* b_scratch(std::size_t n) {
  thread_local Scratch<T> s;
  return s.get(n);
}

// Runs fn(t) for t in [0, ntasks) on up to nthr pool threads that take tasks in order from a
// shared counter, so a thread the OS delays does not hold back the others' share. Which thread
// runs a task never changes what the task computes.
template <class F>
void run_tasks(std::int64_t ntasks, int nthr, const F& fn) {
  if (nthr <= 1 || ntasks <= 1) {
    for (std::int64_t t = 0; t < ntasks; ++t) fn(t);
    return;
  }
  std::atomic<std::int64_t> next{0};
  const std::int64_t workers = min64(nthr, ntasks);
  parallel_for(
      workers,
      [&](std::int64_t) {
        for (;;) {
          const std::int64_t t = next.fetch_add(1, std::memory_order_relaxed);
          if (t >= ntasks) return;
          fn(t);
        }
      },
      static_cast<int>(workers));
}

// C := beta * C (beta == 0: not read), then bias, act, post: the k == 0 / alpha == 0 case.
template <class T>
void scale_only(std::int64_t m, std::int64_t n, T beta, T* c, std::int64_t ldc,
                const GemmEpilogue<T>* ep) {
  const T* bias = ep ? ep->bias : nullptr;
  const bool relu = ep && ep->act == kGemmActRelu;
  for (std::int64_t i = 0; i < m; ++i) {
    T* cr = c + i * ldc;
    for (std::int64_t j = 0; j < n; ++j) {
      T r = beta == T(0) ? T(0) : beta * cr[j];
      if (bias) r += bias[j];
      if (relu) r = r < T(0) ? T(0) : r;  // NaN stays NaN
      cr[j] = r;
    }
  }
  if (ep && ep->post) ep->post(ep->post_ctx, 0, 0, m, n, c, ldc);
}

// Below this many flops (2*m*n*k) per thread, one thread less is faster than waking the pool:
// the threads a GEMM of `flops` gets, at most nthr.
constexpr double kMinFlopsPerThread = 2.0e6;
inline int threads_for(double flops, int nthr) {
  if (flops < kMinFlopsPerThread * nthr) {
    const double fit = flops / kMinFlopsPerThread;
    nthr = fit < 1.0 ? 1 : static_cast<int>(fit);
  }
  return nthr;
}

// The weight gradient's shape, op(A) = A^T with a short K (the batch: K <= KC / 4, one K
// block), on several threads: one MR-aligned band of rows (contiguous row panels) per thread,
// each a pool task (claimed like any other: a thread the host delays leaves its band to the
// caller) that runs the one-thread packed driver, so it packs its own slice of A^T and all of
// op(B) (short K: k x n is the smaller operand) and writes a contiguous block of C. The shared
// split (column chunks over one packed A that both threads fill and every chunk re-reads)
// moves the packed A between the cores' L2s. In-process A/B, AMD EPYC Zen 3 (AVX2, 512 KiB
// L2), float32, 2 threads, 12-20 alternations, GFLOP/s ratio band / shared:
// (784x128)^T(128x512) 1.05-1.44, K = 64 1.68, K = 256 1.04-1.19, (512x128)^T(128x256) 1.08,
// (256x128)^T(128x512) 1.10, (2048x128)^T(128x2048) 1.20; K = 512 1.02 and K = 1024 0.96
// (long K keeps the shared split); without a transposed A it loses or ties: (128x784)
// (784x512) 0.93-0.95, 1024^3 0.88-0.96, (1024x784)(784x512) 0.88, (1024x128)(128x512) 1.00.
// Every element of C is still computed by the same micro-kernel calls as on one thread (bands
// are MR-aligned, K blocks depend on k).
inline bool prefer_row_bands(std::int64_t kc, std::int64_t mr, bool trans_a, std::int64_t m,
                             std::int64_t k, int nthr) {
  return nthr > 1 && trans_a && 4 * k <= kc && cdiv(m, mr) >= 2 * static_cast<std::int64_t>(nthr);
}

// `post` of a band's sub-problem, reported in the whole problem's row numbers.
template <class T>
struct BandPost {
  const GemmEpilogue<T>* outer;
  std::int64_t r0;
  static void call(void* ctx, std::int64_t i0, std::int64_t j0, std::int64_t rows,
                   std::int64_t cols, T* c, std::int64_t ldc) {
    const BandPost* b = static_cast<const BandPost*>(ctx);
    b->outer->post(b->outer->post_ctx, b->r0 + i0, j0, rows, cols, c, ldc);
  }
};

// Splits rows [0, m) into nthr MR-aligned bands, one pool task each, and calls
// band(r0, r1, ep_of_band) for each non-empty one: ep_of_band is ep with its post hook
// reporting rows of the whole problem (nullptr when ep is).
template <class T, class F>
void run_row_bands(std::int64_t m, std::int64_t mr, int nthr, const GemmEpilogue<T>* ep,
                   const F& band) {
  const std::int64_t npa = cdiv(m, mr);
  parallel_for(
      nthr,
      [&](std::int64_t w) {
        const std::int64_t r0 = npa * w / nthr * mr;
        const std::int64_t r1 = min64(m, npa * (w + 1) / nthr * mr);
        if (r0 >= r1) return;
        GemmEpilogue<T> band_ep;
        BandPost<T> band_post{ep, r0};
        if (ep) {
          band_ep = *ep;
          if (ep->post) {
            band_ep.post = &BandPost<T>::call;
            band_ep.post_ctx = &band_post;
          }
        }
        band(r0, r1, ep ? &band_ep : nullptr);
      },
      nthr);
}

}  // namespace gemm_detail
}  // namespace lamina
