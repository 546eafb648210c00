// GEMM driver: blocking, packing rounds, the macro-kernel loop over MR x NR tiles, threads.
//
// C := alpha * op(A) * op(B) + beta * C, then bias / relu fused into the micro-kernel store of
// the last K block, then `post` on each finished MR-row strip of a task's columns
// (contract: cpp/include/lamina/gemm.hpp). Loop structure, per round of MC rows of op(A):
//   1. pack op(A)[rows, all K] into MR-row micro-panels, K block by K block (parallel over
//      panels; the packed block is shared by the threads, it lives in L3);
//   2. tasks = column chunks of C (multiples of NR, at most NC wide; wider for a short K, in
//      the same KC x NC bytes) x row groups; a task, for
//      each K block in order, packs its KC x NC slice of op(B) (L2-resident) and runs the
//      micro-kernel over its tiles: A micro-panel outer (stays in L1), B micro-panels inner.
//      When op(B) is untransposed and small enough to be in cache (kMaxFusedPackB), the first
//      tile row packs the slice as it computes (kernel_packb) instead of a separate pass.
// The weight gradient (op(A) transposed, short K) on several threads splits differently: the
// whole loop above runs once per band of rows, one band per thread (gemm_row_bands).
// Every element of C is computed by the same sequence of micro-kernel calls (one per K block,
// K blocks in order) whatever the task split, so results are bit-identical for every thread
// count. K is never split across threads.
//
// Small problems (op(B) fits in L2, see prefer_direct) skip packing: the direct kernels read
// op(A) and op(B) in place, one call per tile over all of K, tasks = row-panel groups. The
// path and the block sizes depend only on the shape and the ISA level, never on the threads.
// Block sizes (MC, KC, NC) come from the blocking model (blocking.cpp, from the caches); MR, NR
// and the kernels from the per-ISA table (kernel_table.cpp).
// Scratch (packed panels) is thread_local and grow-only: at most MC x KC elements of A per
// calling thread plus KC x NC of B per pool thread.
#include "lamina/gemm.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lamina/runtime.hpp"
#include "driver.hpp"
#include "ukernels.hpp"

namespace lamina {
namespace {

using gemm_detail::a_scratch;
using gemm_detail::b_scratch;
using gemm_detail::cdiv;
using gemm_detail::KernelInfo;
using gemm_detail::min64;
using gemm_detail::prefer_row_bands;
using gemm_detail::run_row_bands;
using gemm_detail::run_tasks;
using gemm_detail::scale_only;
using gemm_detail::threads_for;

// B is packed on the fly by the first tile row only up to this size of op(B) in bytes. Measured
// on the AVX-512 box, fused vs a packing pass: (128x784)(784x512) +6%, 512^3 +1%, 1024^3 (4 MiB)
// even, 2048^3 -3% (op(B) comes from DRAM: the strided first row stalls where a packing pass
// streams).
constexpr double kMaxFusedPackB = 2.0 * 1024 * 1024;

template <class T>
void gemm_packed(const KernelInfo<T>& ki, const GemmBlocks& bl, bool trans_a, bool trans_b, std::int64_t m,
                 std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda,
                 const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
                 const GemmEpilogue<T>* ep, int nthr) {
  const std::int64_t MR = ki.mr, NR = ki.nr;
  // K blocks of equal size, at most the model's KC (no short tail block).
  const std::int64_t nkb = cdiv(k, bl.kc);
  const std::int64_t KC = cdiv(k, nkb);
  const T* bias = ep ? ep->bias : nullptr;
  const int act = ep ? ep->act : 0;
  auto post = ep ? ep->post : nullptr;
  void* post_ctx = ep ? ep->post_ctx : nullptr;

  // Rows per round: at most MC, and a round's packed A (mc x k, all K blocks) within the L3
  // budget of one MC x KC block; balanced so no round is a sliver.
  const std::int64_t max_packed_a = bl.mc * bl.kc;
  std::int64_t mc = bl.mc;
  if (mc * k > max_packed_a) mc = (max_packed_a / k) / MR * MR;
  if (mc < MR) mc = MR;
  mc = cdiv(cdiv(m, cdiv(m, mc)), MR) * MR;

  // An untransposed op(B) that is likely still in cache is packed by the first tile row of
  // each block as it computes (kernel_packb), instead of in a pass of its own.
  const bool fuse_b = ki.kernel_packb != nullptr && !trans_b &&
                      static_cast<double>(k) * static_cast<double>(n) * sizeof(T) <=
                          kMaxFusedPackB;
  const std::int64_t npn = cdiv(n, NR);         // B micro-panels across N
  // B micro-panels per task chunk. A short K (at most a quarter of the model's KC: the weight
  // gradient's batch, K = 32 ... 256) gets the model's KC x NC block in bytes, wider, so the
  // packed A is walked by fewer tasks: (784x128)^T(128x512) +2.1% AVX2, +1.0% AVX-512; at
  // K = 512 the wider block lost 1.4% (dX, AVX2), so longer K keeps NC (Zen 4, 1 thread,
  // in-process A/B).
  const std::int64_t per_chunk = (4 * KC <= bl.kc ? bl.nc * (bl.kc / KC) : bl.nc) / NR;
  const std::int64_t kc_max = min64(KC, k);

  for (std::int64_t i0 = 0; i0 < m; i0 += mc) {
    const std::int64_t mb = min64(mc, m - i0);
    const std::int64_t npa = cdiv(mb, MR);
    T* apack = a_scratch<T>(static_cast<std::size_t>(npa * MR * k));
    const T* a0 = trans_a ? a + i0 : a + i0 * lda;

    // 1. Pack op(A)[i0:i0+mb, :], panel by panel and K block by K block.
    const std::int64_t pack_tasks = nkb * npa;
    run_tasks(pack_tasks, nthr, [&](std::int64_t t) {
      const std::int64_t kb = t / npa, ip = t % npa;
      const std::int64_t p0 = kb * KC, kc = min64(KC, k - p0);
      const std::int64_t rows = min64(MR, mb - ip * MR);
      const T* src = trans_a ? a0 + p0 * lda + ip * MR : a0 + ip * MR * lda + p0;
      ki.pack_a(trans_a, rows, kc, src, lda, static_cast<int>(MR),
                apack + p0 * npa * MR + ip * MR * kc);
    });

    // 2. Tasks: tn column chunks x tm row groups; with threads, at least two chunks per
    //    thread where there are panels for it, so the shared counter can balance them, and a
    //    multiple of the threads where the panels allow (11 chunks on 2 threads idled one
    //    thread for a twelfth of 1024^3).
    std::int64_t tn = cdiv(npn, per_chunk);
    if (nthr > 1) {
      const std::int64_t want = 2 * static_cast<std::int64_t>(nthr);
      if (tn < want) tn = min64(want, npn / 2 > nthr ? npn / 2 : nthr);
      const std::int64_t even = cdiv(tn, nthr) * nthr;
      if (even <= npn) tn = even;
      if (tn > npn) tn = npn;
    }
    std::int64_t tm = 1;
    if (tn < nthr) tm = min64(npa, cdiv(nthr, tn));
    const std::int64_t ntasks = tn * tm;

    run_tasks(ntasks, nthr, [&](std::int64_t t) {
      const std::int64_t it = t / tn, jt = t % tn;
      const std::int64_t jp0 = npn * jt / tn, jp1 = npn * (jt + 1) / tn;
      const std::int64_t ip0 = npa * it / tm, ip1 = npa * (it + 1) / tm;
      if (jp0 >= jp1 || ip0 >= ip1) return;
      const std::int64_t j0 = jp0 * NR;
      const std::int64_t ncols = min64(n, jp1 * NR) - j0;
      T* bpack = b_scratch<T>(static_cast<std::size_t>(kc_max * (jp1 - jp0) * NR));
      // Fused: full panels only; a partial last panel (n not a multiple of NR) is packed apart.
      const std::int64_t jp_fused_end = fuse_b && jp1 * NR > n ? jp1 - 1 : jp1;
      for (std::int64_t kb = 0; kb < nkb; ++kb) {
        const std::int64_t p0 = kb * KC, kc = min64(KC, k - p0);
        const T* bsrc = trans_b ? b + j0 * ldb + p0 : b + p0 * ldb + j0;
        if (!fuse_b) {
          ki.pack_b(trans_b, kc, ncols, bsrc, ldb, static_cast<int>(NR), bpack);
        } else if (jp_fused_end < jp1) {
          const std::int64_t off = (jp_fused_end - jp0) * NR;
          ki.pack_b(false, kc, ncols - off, bsrc + off, ldb, static_cast<int>(NR),
                    bpack + off * kc);
        }
        const bool last = kb == nkb - 1;
        const T beta_k = kb == 0 ? beta : T(1);
        const T* apanels = apack + p0 * npa * MR;
        for (std::int64_t ip = ip0; ip < ip1; ++ip) {
          const std::int64_t rows = min64(MR, mb - ip * MR);
          T* crow = c + (i0 + ip * MR) * ldc;
          const T* ap = apanels + ip * MR * kc;
          for (std::int64_t jp = jp0; jp < jp1; ++jp) {
            const std::int64_t jj = jp * NR;
            if (ip == ip0 && jp < jp_fused_end && fuse_b)
              ki.kernel_packb(kc, ap, bsrc + (jj - j0), ldb, bpack + (jp - jp0) * NR * kc,
                              crow + jj, ldc, rows, min64(NR, n - jj), alpha, beta_k,
                              last && bias ? bias + jj : nullptr, last ? act : 0);
            else
              ki.kernel(kc, ap, bpack + (jp - jp0) * NR * kc, crow + jj, ldc, rows,
                        min64(NR, n - jj), alpha, beta_k,
                        last && bias ? bias + jj : nullptr, last ? act : 0);
          }
          if (last && post) post(post_ctx, i0 + ip * MR, j0, rows, ncols, crow + j0, ldc);
        }
      }
    });
  }
}

// The weight gradient on several threads: row bands (driver.hpp, run_row_bands), each the
// one-thread packed driver.
template <class T>
void gemm_row_bands(const KernelInfo<T>& ki, const GemmBlocks& bl, bool trans_a, bool trans_b,
                    std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                    std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                    std::int64_t ldc, const GemmEpilogue<T>* ep, int nthr) {
  run_row_bands<T>(m, ki.mr, nthr, ep,
                   [&](std::int64_t r0, std::int64_t r1, const GemmEpilogue<T>* band_ep) {
                     gemm_packed(ki, bl, trans_a, trans_b, r1 - r0, n, k, alpha,
                                 trans_a ? a + r0 : a + r0 * lda, lda, b, ldb, beta,
                                 c + r0 * ldc, ldc, band_ep, 1);
                   });
}

// Small problems: no packing, the direct kernels read op(A) and op(B) in place (op(B) rows
// must be contiguous; a transposed B is copied once into a k x n scratch first). One call per
// tile covers all of K. Tasks are row-panel groups.
template <class T>
void gemm_direct(const KernelInfo<T>& ki, bool trans_a, bool trans_b, std::int64_t m,
                 std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda,
                 const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
                 const GemmEpilogue<T>* ep, int nthr) {
  const bool narrow = n <= ki.dnr_narrow;
  const gemm_detail::DirectKernel<T> kern = narrow ? ki.direct_narrow : ki.direct_wide;
  const std::int64_t MR = narrow ? ki.dmr_narrow : ki.dmr_wide;
  const std::int64_t NR = narrow ? ki.dnr_narrow : ki.dnr_wide;
  const T* bias = ep ? ep->bias : nullptr;
  const int act = ep ? ep->act : 0;
  auto post = ep ? ep->post : nullptr;
  void* post_ctx = ep ? ep->post_ctx : nullptr;
  // A transposed B is packed once into NR-wide panels (op(B) rows contiguous, ldb = NR).
  T* bpanels = nullptr;
  if (trans_b) {
    bpanels = b_scratch<T>(static_cast<std::size_t>(k * cdiv(n, NR) * NR));
    ki.pack_b(true, k, n, b, ldb, static_cast<int>(NR), bpanels);
  }
  const std::int64_t rsa = trans_a ? 1 : lda, csa = trans_a ? lda : 1;
  const std::int64_t npm = cdiv(m, MR), npn = cdiv(n, NR);
  const std::int64_t ntasks = nthr > 1 ? min64(npm, 2 * static_cast<std::int64_t>(nthr)) : 1;
  run_tasks(ntasks, nthr, [&](std::int64_t t) {
    const std::int64_t ip0 = npm * t / ntasks, ip1 = npm * (t + 1) / ntasks;
    for (std::int64_t ip = ip0; ip < ip1; ++ip) {
      const std::int64_t i0 = ip * MR, rows = min64(MR, m - i0);
      T* crow = c + i0 * ldc;
      for (std::int64_t jp = 0; jp < npn; ++jp) {
        const std::int64_t j0 = jp * NR;
        const T* bp = bpanels ? bpanels + jp * NR * k : b + j0;
        kern(k, a + i0 * rsa, rsa, csa, bp, bpanels ? NR : ldb, crow + j0, ldc, rows,
             min64(NR, n - j0), alpha, beta, bias ? bias + j0 : nullptr, act);
      }
      if (post) post(post_ctx, i0, 0, rows, n, crow, ldc);
    }
  });
}

// LAMINA_GEMM_PATH=packed|direct forces a path (for tests and tuning); unset: by size.
int forced_path() {
  static const int v = [] {
    const char* e = std::getenv("LAMINA_GEMM_PATH");
    if (!e) return 0;
    const std::string s(e);
    return s == "packed" ? 1 : s == "direct" ? 2 : 0;
  }();
  return v;
}

// The direct path wins while op(B) stays in L2 and an A row panel in L1 (measured on Zen 5, 1
// MiB L2 and 48 KiB L1d: op(B) up to 512 KiB = L2 / 2, the panel up to 32 KiB = 2/3 of L1d;
// 256^3, (128x256)(256x512), (1024x512)(512x64), all narrow outputs); packing wins for larger B
// or a B row stride of a page or more, whose rows collide in the caches. The two bounds scale
// with the caches of this CPU (the ones the blocks were computed from).
// A transposed A (Xt.dY, the weight gradient) is packed whenever there are more than two row
// panels: the direct kernel would read op(A) = A^T as MR values from each of k rows of A, lda
// apart, so every K step starts a second strided stream (beside B's) and uses 24-32 bytes of
// each 64-byte line, fetching the rest again for the next row panel; packing copies A once
// into contiguous panels. In-process A/B on Zen 4, packed vs direct, 11 alternations, 1
// thread, (784x128)^T(128x512) and the same with K = 32, 64, 256, (512x128)^T(128x256):
// AVX2 +8% to +22%, AVX-512 +3% to +7% (the last shape -1%, noise level). The issue measured
// this shape at 0.64x MKL on Sapphire Rapids, where it took the direct path. Outputs at most
// one wide tile across keep the direct path: packed is 2x slower on (256x128)^T(128x10).
template <class T>
bool prefer_direct(const KernelInfo<T>& ki, bool trans_a, bool trans_b, std::int64_t m,
                   std::int64_t n, std::int64_t k, std::int64_t ldb, bool post_hook) {
  if (ki.direct_wide == nullptr) return false;
  const double sz = static_cast<double>(sizeof(T));
  const bool narrow = n <= ki.dnr_narrow;
  const std::int64_t dmr = narrow ? ki.dmr_narrow : ki.dmr_wide;
  const CacheSizes& cs = gemm_detail::model_caches();
  const double l2_half = static_cast<double>(cs.l2) / 2, l1_part = cs.l1d * 2.0 / 3.0;
  const bool b_fits = static_cast<double>(k) * static_cast<double>(n) * sz <= l2_half;
  if (trans_b && !b_fits) return false;  // the direct path would copy all of op(B)
  if (m <= 2 * dmr) return true;         // B is read about once either way
  // See above. Not with a post hook: the packed path hands it MC x NC blocks, the direct
  // path whole rows (fewer, longer calls for a hook that streams other data, as the step
  // executor's optimizer update once did inside the dW gemm).
  if (trans_a && n > ki.dnr_wide && !post_hook) return false;
  if (!b_fits) return false;
  if (static_cast<double>(k) * static_cast<double>(dmr) * sz > l1_part) return false;
  if (!trans_b && static_cast<double>(ldb) * sz >= 4096.0) return false;
  return true;
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
          std::int64_t ldc, const GemmEpilogue<T>* epilogue, int max_threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scale_only(m, n, beta, c, ldc, epilogue);
    return;
  }
  const KernelInfo<T>& ki = gemm_detail::kernel_info<T>(static_cast<int>(active_isa()));
  int nthr = num_threads();
  if (max_threads > 0 && max_threads < nthr) nthr = max_threads;
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  nthr = threads_for(flops, nthr);
  const int fp = forced_path();
  const bool direct = ki.direct_wide != nullptr &&
                      (fp == 2 || (fp == 0 && prefer_direct(ki, trans_a, trans_b, m, n, k, ldb,
                                                           epilogue != nullptr &&
                                                               epilogue->post != nullptr)));
  if (direct) {
    gemm_direct(ki, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue,
                nthr);
    return;
  }
  const GemmBlocks& bl = gemm_detail::blocks(static_cast<int>(active_isa()), sizeof(T) == 8);
  if (prefer_row_bands(bl.kc, ki.mr, trans_a, m, k, nthr)) {
    gemm_row_bands(ki, bl, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                   epilogue, nthr);
    return;
  }
  gemm_packed(ki, bl, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, nthr);
}

template <class T>
const char* gemm_kernel_name() {
  return gemm_detail::kernel_info<T>(static_cast<int>(active_isa())).name;
}

double fma_peak_gflops(double seconds) {
  const int isa = static_cast<int>(active_isa());
  float (*loop)(std::int64_t) = nullptr;
  double flop_per_iter = 0;
#if defined(LAMINA_X86)
  if (isa >= static_cast<int>(Isa::avx512)) {
    loop = gemm_detail::fma_loop_avx512_f32;
    flop_per_iter = 24.0 * 32.0;
  } else if (isa == static_cast<int>(Isa::avx2)) {
    loop = gemm_detail::fma_loop_avx2_f32;
    flop_per_iter = 12.0 * 16.0;
  }
#endif
  if (!loop) return 0.0;
  using clock = std::chrono::steady_clock;
  std::int64_t iters = 1 << 16;
  double best = 0.0, spent = 0.0;
  volatile float sink = 0.0f;
  while (spent < seconds) {
    const auto t0 = clock::now();
    sink = sink + loop(iters);
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    spent += dt;
    if (dt > 1e-3) {
      const double g = flop_per_iter * static_cast<double>(iters) / dt * 1e-9;
      if (g > best) best = g;
    }
    if (dt < 0.02) iters *= 2;
  }
  return best;
}

template <class T>
void bias_grad(std::int64_t m, std::int64_t n, const T* dy, std::int64_t ldy, T beta, T* db) {
  if (n <= 0) return;
  // Column blocks of 512 keep the partial sums in L1; rows are added in order 0..m-1.
  constexpr std::int64_t kBlock = 512;
  T acc[kBlock];
  for (std::int64_t j0 = 0; j0 < n; j0 += kBlock) {
    const std::int64_t w = min64(kBlock, n - j0);
    for (std::int64_t j = 0; j < w; ++j) acc[j] = T(0);
    for (std::int64_t i = 0; i < m; ++i) {
      const T* row = dy + i * ldy + j0;
      for (std::int64_t j = 0; j < w; ++j) acc[j] += row[j];
    }
    T* out = db + j0;
    if (beta == T(0)) {
      for (std::int64_t j = 0; j < w; ++j) out[j] = acc[j];
    } else {
      for (std::int64_t j = 0; j < w; ++j) out[j] = beta * out[j] + acc[j];
    }
  }
}

template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float,
                          const float*, std::int64_t, const float*, std::int64_t, float, float*,
                          std::int64_t, const GemmEpilogue<float>*, int);
template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double,
                           const double*, std::int64_t, const double*, std::int64_t, double,
                           double*, std::int64_t, const GemmEpilogue<double>*, int);
template const char* gemm_kernel_name<float>();
template const char* gemm_kernel_name<double>();
template void bias_grad<float>(std::int64_t, std::int64_t, const float*, std::int64_t, float,
                               float*);
template void bias_grad<double>(std::int64_t, std::int64_t, const double*, std::int64_t, double,
                                double*);

}  // namespace lamina
