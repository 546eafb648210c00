// bf16 GEMM driver: the blocking, packing rounds and task split of gemm<float> (gemm.cpp) on
// bf16 panels. Contract: lamina/gemm_bf16.hpp; panel layouts and plans: ukernels_bf16.hpp.
//
// Per round of MC rows of op(A): (1) pack op(A)[rows, all K] into MR-row micro-panels, K block
// by K block (parallel over panels); (2) tasks = column chunks of C x row groups; a task packs
// its KC x NC slice of op(B) per K block and runs the micro-kernel over its tiles, the A
// micro-panel outer, the B micro-panels inner (an untransposed op(B) that fits in cache is
// packed by the first tile row as it computes: kernel_packb). Every element of C gets the same
// sequence of micro-kernel calls (one per K block, in order) whatever the split, so the result
// is bit-identical for every thread count. The weight gradient's shape (op(A) transposed,
// short K) on several threads runs the whole driver once per band of rows instead
// (gemm_split, driver.hpp's run_row_bands). No direct (unpacked) path: the operands must be
// rounded to bf16 anyway, which is what packing does.
// Plans: the native AVX512_BF16 kernel at the avx512_bf16 level, else the level's float32
// kernel on rounded, pair-swapped float32 panels (pack_bf16.cpp). K blocks: the largest K block
// is KC of the native kernel's blocking (even), at every level, so the K split (and with it the
// bits, see the header) does not depend on the level.
#include "lamina/gemm_bf16.hpp"

#include <chrono>
#include <cstdint>

#include "lamina/runtime.hpp"
#include "driver.hpp"
#include "ukernels.hpp"
#include "ukernels_bf16.hpp"

namespace lamina {
namespace {

using gemm_detail::a_scratch;
using gemm_detail::b_scratch;
using gemm_detail::Bf16Plan;
using gemm_detail::cdiv;
using gemm_detail::min64;
using gemm_detail::prefer_row_bands;
using gemm_detail::run_row_bands;
using gemm_detail::run_tasks;
using gemm_detail::scale_only;
using gemm_detail::threads_for;

inline std::int64_t even_up(std::int64_t x) { return x + (x & 1); }

// As gemm.cpp's kMaxFusedPackB: op(B) (float32 bytes) up to which an untransposed B is packed
// by the first tile row as it computes instead of in a pass of its own. Higher than float32's
// 2 MiB: the conversion makes the packing pass dearer. Measured on Zen 4 (1 thread, CPU time,
// 2 alternations), fused vs a pass: 1024^3 (4 MiB) +1.2%, (512x1024)(1024x2048) (8 MiB) +0.7
// to +2.7%, 2048^3 (16 MiB) -0.1 to +2.5% (left to the pass, as float32 measured -3% there).
constexpr double kMaxFusedPackB = 8.0 * 1024 * 1024;

// The blocking model (blocking.cpp) for the native kernel's bf16 panels (2 bytes).
GemmBlocks native_blocks() {
  return gemm_detail::gemm_blocks_model(gemm_detail::model_caches(), gemm_detail::kBf16Mr,
                                        gemm_detail::kBf16Nr, 2, 0);
}
// The level's float32 blocking with the native KC (so the K split is the same everywhere).
GemmBlocks emulated_blocks(int isa) {
  const auto& pl = gemm_detail::bf16_emulated_plan(isa);
  return gemm_detail::gemm_blocks_model(gemm_detail::model_caches(), pl.mr, pl.nr, 4,
                                        native_blocks().kc);
}

// shapes: op(A) (m, k), op(B) (k, n), C (m, n); see the top of the file.
template <class P>
void gemm_packed(const Bf16Plan<P>& pl, const GemmBlocks& bl, bool trans_a, bool trans_b,
                 std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                 std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                 std::int64_t ldc, const GemmEpilogue<float>* ep, int nthr) {
  const std::int64_t MR = pl.mr, NR = pl.nr;
  // K blocks of equal, even size (at most the model's KC); only the last may be shorter / odd.
  const std::int64_t KC = even_up(cdiv(k, cdiv(k, bl.kc)));
  const std::int64_t nkb = cdiv(k, KC);
  const std::int64_t kpad = even_up(k);
  const float* bias = ep ? ep->bias : nullptr;
  const int act = ep ? ep->act : 0;
  auto post = ep ? ep->post : nullptr;
  void* post_ctx = ep ? ep->post_ctx : nullptr;

  const std::int64_t max_packed_a = bl.mc * bl.kc;
  std::int64_t mc = bl.mc;
  if (mc * kpad > max_packed_a) mc = (max_packed_a / kpad) / MR * MR;
  if (mc < MR) mc = MR;
  mc = cdiv(cdiv(m, cdiv(m, mc)), MR) * MR;

  const bool fuse_b = pl.kernel_packb != nullptr && !trans_b &&
                      static_cast<double>(k) * static_cast<double>(n) * 4.0 <= kMaxFusedPackB;
  const std::int64_t npn = cdiv(n, NR);
  const std::int64_t kc_max = min64(KC, kpad);
  // B micro-panels per task chunk: a packed slice of op(B) of at most the model's KC x NC
  // values, so a short K gets wider chunks (the weight gradient's K is the batch: 128 rows of
  // dZ give 8x NC). With a post hook that means whole rows of C per call (when the step
  // executor still updated the weights in the dW gemm's hook, 224-column pieces cost mnist-mlp
  // dW1 2376 update calls per step instead of 66; the update now runs after the gemm).
  std::int64_t per_chunk = bl.nc / NR;
  if (bl.kc * bl.nc / (kc_max * NR) > per_chunk) per_chunk = bl.kc * bl.nc / (kc_max * NR);

  for (std::int64_t i0 = 0; i0 < m; i0 += mc) {
    const std::int64_t mb = min64(mc, m - i0);
    const std::int64_t npa = cdiv(mb, MR);
    P* apack = a_scratch<P>(static_cast<std::size_t>(npa * MR * kpad));
    const float* a0 = trans_a ? a + i0 : a + i0 * lda;

    // 1. Pack op(A)[i0:i0+mb, :]: K block kb at apack + p0 * npa * MR (earlier blocks are KC,
    //    even, long), panel ip of it at + ip * MR * kp. One call per K block and group of
    //    panels (a group per thread): a transposed A is read pair of rows by pair of rows
    //    across all the panels of the call (pack_a_avx512bf16).
    const std::int64_t ngroups = min64(npa, nthr);
    run_tasks(nkb * ngroups, nthr, [&](std::int64_t t) {
      const std::int64_t kb = t / ngroups, g = t % ngroups;
      const std::int64_t ip0 = npa * g / ngroups, ip1 = npa * (g + 1) / ngroups;
      const std::int64_t p0 = kb * KC, kc = min64(KC, k - p0);
      const std::int64_t rows = min64(ip1 * MR, mb) - ip0 * MR;
      const float* src = trans_a ? a0 + p0 * lda + ip0 * MR : a0 + ip0 * MR * lda + p0;
      pl.pack_a(trans_a, rows, kc, src, lda, static_cast<int>(MR),
                apack + p0 * npa * MR + ip0 * MR * even_up(kc));
    });

    // 2. Tasks: tn column chunks x tm row groups (the split of gemm.cpp).
    std::int64_t tn = cdiv(npn, per_chunk);
    // Whole rows for a post hook: the threads split the rows (each packs all of op(B)).
    const bool split_rows_only = post != nullptr && tn == 1;
    if (nthr > 1 && !split_rows_only) {
      const std::int64_t want = 2 * static_cast<std::int64_t>(nthr);
      if (tn < want) tn = min64(want, npn / 2 > nthr ? npn / 2 : nthr);
      const std::int64_t even = cdiv(tn, nthr) * nthr;
      if (even <= npn) tn = even;
      if (tn > npn) tn = npn;
    }
    std::int64_t tm = 1;
    if (tn < nthr) tm = min64(npa, cdiv(nthr, tn));

    run_tasks(tn * tm, nthr, [&](std::int64_t t) {
      const std::int64_t it = t / tn, jt = t % tn;
      const std::int64_t jp0 = npn * jt / tn, jp1 = npn * (jt + 1) / tn;
      const std::int64_t ip0 = npa * it / tm, ip1 = npa * (it + 1) / tm;
      if (jp0 >= jp1 || ip0 >= ip1) return;
      const std::int64_t j0 = jp0 * NR;
      const std::int64_t ncols = min64(n, jp1 * NR) - j0;
      P* bpack = b_scratch<P>(static_cast<std::size_t>(kc_max * (jp1 - jp0) * NR));
      // Fused: full panels only; a partial last panel (n not a multiple of NR) is packed apart.
      const std::int64_t jp_fused_end = fuse_b && jp1 * NR > n ? jp1 - 1 : jp1;
      for (std::int64_t kb = 0; kb < nkb; ++kb) {
        const std::int64_t p0 = kb * KC, kc = min64(KC, k - p0), kp = even_up(kc);
        const float* bsrc = trans_b ? b + j0 * ldb + p0 : b + p0 * ldb + j0;
        if (!fuse_b) {
          pl.pack_b(trans_b, kc, ncols, bsrc, ldb, static_cast<int>(NR), bpack);
        } else if (jp_fused_end < jp1) {
          const std::int64_t off = (jp_fused_end - jp0) * NR;
          pl.pack_b(false, kc, ncols - off, bsrc + off, ldb, static_cast<int>(NR),
                    bpack + off * kp);
        }
        const bool last = kb == nkb - 1;
        const float beta_k = kb == 0 ? beta : 1.0f;
        const P* apanels = apack + p0 * npa * MR;
        for (std::int64_t ip = ip0; ip < ip1; ++ip) {
          const std::int64_t rows = min64(MR, mb - ip * MR);
          float* crow = c + (i0 + ip * MR) * ldc;
          const P* ap = apanels + ip * MR * kp;
          for (std::int64_t jp = jp0; jp < jp1; ++jp) {
            const std::int64_t jj = jp * NR;
            if (fuse_b && ip == ip0 && jp < jp_fused_end)
              pl.kernel_packb(kc, ap, bsrc + (jj - j0), ldb, bpack + (jp - jp0) * NR * kp,
                              crow + jj, ldc, rows, min64(NR, n - jj), alpha, beta_k,
                              last && bias ? bias + jj : nullptr, last ? act : 0);
            else
              pl.kernel(kp, ap, bpack + (jp - jp0) * NR * kp, crow + jj, ldc, rows,
                        min64(NR, n - jj), alpha, beta_k, last && bias ? bias + jj : nullptr,
                        last ? act : 0);
          }
          if (last && post) post(post_ctx, i0 + ip * MR, j0, rows, ncols, crow + j0, ldc);
        }
      }
    });
  }
}

#if defined(LAMINA_X86)
const Bf16Plan<std::uint16_t> kNative = {
    gemm_detail::kBf16Mr, gemm_detail::kBf16Nr, gemm_detail::gemm_avx512bf16_12x32,
    gemm_detail::pack_a_avx512bf16, gemm_detail::pack_b_avx512bf16, "gemm_avx512bf16_12x32",
    gemm_detail::gemm_avx512bf16_12x32_packb};
// Outputs of at most 16 columns (a 10-class output layer: its forward and dW gemms): the
// 12 x 32 tile would compute 32 columns for 10; 16 x 16 computes 16. Measured on Zen 4, 1
// thread, whole gemm_bf16 calls: (128x256)(256x10) 13.4 -> 7.8 us, (256x128)^T(128x10)
// 13.8 -> 7.1 us (the packing of A is most of what is left).
const Bf16Plan<std::uint16_t> kNarrow = {
    gemm_detail::kBf16NarrowMr, gemm_detail::kBf16NarrowNr, gemm_detail::gemm_avx512bf16_16x16,
    gemm_detail::pack_a_avx512bf16, gemm_detail::pack_b_avx512bf16, "gemm_avx512bf16_16x16",
    nullptr};
#endif

bool native_active() {
#if defined(LAMINA_X86)
  return active_isa() == Isa::avx512_bf16;
#else
  return false;
#endif
}

// The weight gradient (op(A) transposed, short K) on several threads in row bands, each the
// one-thread driver (driver.hpp, run_row_bands); everything else through gemm_packed's split.
// The bands change only which rows a call covers, never the K blocks (they depend on k), so
// the bits are those of one thread. In-process A/B on AMD EPYC Zen 3 (the AVX2 level's
// emulated bf16 panels), 2 threads, 15 alternations x 2 runs, bands / shared split:
// (784x128)^T(128x512) 1.24 / 1.28, (512x128)^T(128x256) 1.23 / 1.24, K = 64 1.44 / 1.47,
// K = 256 1.12 / 1.12. The native AVX512_BF16 kernel shares the split and the reason (one
// packed A filled by both threads); it was not measured there.
template <class P>
void gemm_split(const Bf16Plan<P>& pl, const GemmBlocks& bl, bool trans_a, bool trans_b,
                std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                std::int64_t ldc, const GemmEpilogue<float>* ep, int nthr) {
  if (prefer_row_bands(bl.kc, pl.mr, trans_a, m, k, nthr)) {
    run_row_bands<float>(m, pl.mr, nthr, ep,
                         [&](std::int64_t r0, std::int64_t r1, const GemmEpilogue<float>* bep) {
                           gemm_packed(pl, bl, trans_a, trans_b, r1 - r0, n, k, alpha,
                                       trans_a ? a + r0 : a + r0 * lda, lda, b, ldb, beta,
                                       c + r0 * ldc, ldc, bep, 1);
                         });
    return;
  }
  gemm_packed(pl, bl, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep, nthr);
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
               float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
               float beta, float* c, std::int64_t ldc, const GemmEpilogue<float>* epilogue,
               int max_threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_only(m, n, beta, c, ldc, epilogue);
    return;
  }
  int nthr = num_threads();
  if (max_threads > 0 && max_threads < nthr) nthr = max_threads;
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  nthr = threads_for(flops, nthr);
#if defined(LAMINA_X86)
  if (native_active()) {
    gemm_split(n <= kNarrow.nr ? kNarrow : kNative, native_blocks(), trans_a, trans_b, m, n, k,
               alpha, a, lda, b, ldb, beta, c, ldc, epilogue, nthr);
    return;
  }
#endif
  const int isa = static_cast<int>(active_isa());
  gemm_split(gemm_detail::bf16_emulated_plan(isa), emulated_blocks(isa), trans_a, trans_b, m, n,
             k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, nthr);
}

void gemm_bf16_ref(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float* a, std::int64_t lda, const float* b,
                   std::int64_t ldb, float beta, float* c, std::int64_t ldc,
                   const GemmEpilogue<float>* epilogue) {
  const float* bias = epilogue ? epilogue->bias : nullptr;
  const bool relu = epilogue && epilogue->act == kGemmActRelu;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      auto av = [&](std::int64_t p) {
        return round_to_bf16(trans_a ? a[p * lda + i] : a[i * lda + p]);
      };
      auto bv = [&](std::int64_t p) {
        return round_to_bf16(trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      };
      float acc = 0.0f;
      for (std::int64_t p = 0; p < k; p += 2) {
        if (p + 1 < k) acc += av(p + 1) * bv(p + 1);  // exact product, one rounding
        acc += av(p) * bv(p);
      }
      float r = alpha * acc;
      if (beta != 0.0f) r += beta * c[i * ldc + j];
      if (bias) r += bias[j];
      if (relu) r = r < 0.0f ? 0.0f : r;  // NaN stays NaN
      c[i * ldc + j] = r;
    }
  }
  if (epilogue && epilogue->post && m > 0 && n > 0)
    epilogue->post(epilogue->post_ctx, 0, 0, m, n, c, ldc);
}

const char* gemm_bf16_kernel_name() {
#if defined(LAMINA_X86)
  if (native_active()) return kNative.name;
#endif
  return gemm_detail::bf16_emulated_plan(static_cast<int>(active_isa())).name;
}

GemmBlocks gemm_bf16_blocks() {
  return native_active() ? native_blocks() : emulated_blocks(static_cast<int>(active_isa()));
}

double bf16_dot_peak_gflops(double seconds) {
  if (!native_active()) return 0.0;
#if defined(LAMINA_X86)
  using clock = std::chrono::steady_clock;
  std::int64_t iters = 1 << 16;
  double best = 0.0, spent = 0.0;
  volatile float sink = 0.0f;
  while (spent < seconds) {
    const auto t0 = clock::now();
    sink = sink + gemm_detail::dot_loop_avx512bf16(iters);
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    spent += dt;
    if (dt > 1e-3) {
      const double g = 24.0 * 64.0 * static_cast<double>(iters) / dt * 1e-9;
      if (g > best) best = g;
    }
    if (dt < 0.02) iters *= 2;
  }
  return best;
#else
  (void)seconds;
  return 0.0;
#endif
}

}  // namespace lamina
