// The GEMM blocking model: MC, KC, NC from the data caches of this CPU, per ISA and dtype.
//
// Contract: gemm_blocks_for(caches, isa, f64) is a pure function of its arguments; MR and NR
// come from the kernel table (kernel_table.cpp), the blocks from the model below. The blocks in
// use (cache_sizes() through the model, for every ISA level and dtype) are computed once at
// first use and again whenever the cache sizes change (set_cache_sizes), and read per call.
// Every block is a multiple of what the driver needs: MC of MR, NC of NR; KC >= 16.
//
// ---- The model, for the loop order of gemm.cpp --------------------------------------------
// BLIS (Low et al., "Analytical Modeling Is Enough for High-Performance BLIS", ACM TOMS 2016)
// packs an MC x KC block of A into L2 and streams KC x NR micro-panels of B through L1. This
// driver swaps the roles (gemm.cpp): per task and K block it packs a KC x NC block of op(B)
// into L2, then for each MR x KC micro-panel of the packed op(A) walks the NC / NR micro-panels
// of B against it. So, with S the element size:
//   - the B block is reused by every A micro-panel of the round (MC / MR of them): it must stay
//     in L2;
//   - an A micro-panel is reused by the NC / NR B micro-panels of the block; the packed A of a
//     round (MC x K, all K blocks) is shared by the threads and read once per column chunk:
//     it lives in L3;
//   - each K block after the first re-reads and re-writes every C tile (MR x NR) of the task,
//     and C of a large problem comes from memory: the fewer K blocks, the less C traffic.
//
// KC. BLIS's L1 rule sizes KC so the reused micro-panel (here A's, MR x KC) stays in L1 while
// the other streams: with W1 ways, N1 sets and L-byte lines, the streamed B micro-panel gets
// C_B = floor((W1 - 1) / (1 + MR / NR)) ways and KC_L1 = C_B * N1 * L / (NR * S). On the
// 48 KiB 12-way L1 of Zen 5 and Sapphire Rapids that is 256 for the AVX-512 12x32 float32
// tile (512 for AVX2 6x16), on this Zen 4's 32 KiB 8-way L1 160 (320). The measured table
// chose KC = 1024 instead and it beat 256-512 by 2-3% on 1024^3, 2048^3 and (128x784)(784x512)
// (kernel_table.cpp): these register tiles do 2 * MR * NR flops per (MR + NR) * S bytes
// loaded (768 flop per 176 B for 12x32 float32, 192 per 88 B for 6x16), 15 B/cycle at the FMA
// peak, which L2 supplies on every core with AVX2 (32-64 B/cycle), so the micro-panels need
// not sit in L1, and one K block up to K = 1024 writes C once instead of read-modify-writing
// it K / KC times. So here KC is bounded by L2, not L1:
//   (1) KC <= kKcMax = 1024 (beyond it, C's write-back is already amortised over 2048 flops
//       per element, and the packed A panels grow past L2);
//   (2) the L2 share (half of L2: the rest holds the A micro-panels streaming in from L3, C
//       tiles, the packing's source lines and other data) holds a B block of at least
//       kMinPanels B micro-panels plus two A micro-panels (the one in use and the next,
//       prefetched): KC * S * (kMinPanels * NR + 2 * MR) <= L2 / 2.
//   KC is the largest multiple of 16 that satisfies both.
// NC. The rest of the L2 share goes to the B block: NC = NR * floor((L2/2 - 2 * MR * KC * S)
//   / (KC * NR * S)), at least kMinPanels * NR where (2) left room for it. kMinPanels = 3:
//   on the measuring box NC = 2 panels (64) lost 3-6% to 3 panels (96), as did 4-6 panels (a
//   B block past ~40% of the 1 MiB L2).
// MC. The packed A of one K block (MC x KC) is read from L3 by the task of every column chunk
//   of the round, on every thread: MC * KC * S <= min(L3 / 4, 8 MiB). A quarter of L3 because L3 is
//   shared with the other cores and holds op(B)'s source and C; at most 8 MiB because a guest's
//   reported L3 can be meaningless (480 MiB on the Sapphire Rapids guest) and past a few MiB
//   the rounds are long enough that their packing barrier costs nothing. gemm.cpp also caps a
//   round's whole packed A (MC x K) by this budget.
//
// Check against the measured table (KC x NC, MC; measured on Zen 5: 48 KiB L1d, 1 MiB L2,
// 32 MiB L3; kernel_table.cpp's comment; tests/test_blocking.py):
//   AVX-512 float32 12x32: measured 1024 x 96, MC 2040 -> model 1024 x 96, MC 2040 (same).
//   AVX2 float32 6x16:     measured 1024 x 192 (768 KiB B block) -> model 1024 x 112: the
//     measurement compared 1024 x 192 only with 256 x 512; the model keeps the B block in half
//     of L2 as the AVX-512 A/B (96 beat 128-192) says.
//   float64 (12x16, 6x8): measured 256 x 192 / 256 x 256, never tuned against longer K;
//     model 896 x 48 / 1024 x 48.
// In-process A/B on Zen 4 (32 KiB 8-way L1d, 1 MiB L2; _core.set_gemm_blocks, 1 thread, 7
// alternations), model vs other blocks, GFLOP/s ratios to the model:
//   AVX-512 float32, KC = 160 (BLIS's L1 rule here) / 256 / 512 / NC = 192: 1024^3 0.92 / 0.95
//     / 0.98 / 0.98; 2048^3 0.85 / 0.90 / 0.97 / 0.96; (128x784)(784x512) 0.98 / 0.98 / 0.99
//     / 0.99; (128x512)(512x784)^T 0.97 / 0.99 / 1.00 / 1.00.
//   AVX2 float32, KC = 320 (the L1 rule) / 512 / NC = 192 (the old table): 1024^3 1.02 / 1.03 /
//     1.02, fwd 1.00 / 0.99 / 1.00: even. Under Zen 3's caches (LAMINA_CACHES, 1024 x 48) vs
//     the old 1024 x 192 and 1024 x 112: within 0.7% on 1024^3, 2048^3, fwd, dW, dX here (this
//     L2 holds either; on a real 512 KiB L2 only the model's block stays). On a real Zen 3
//     (AMD EPYC family 25 model 1, 512 KiB L2; a contended host), other blocks against the
//     model's, KC x NC = 512 x 96, 256 x 192, 384 x 128, 1024 x 96, 512 x 48, 256 x 48,
//     384 x 48, 384 x 64, 256 x 96 on eight network and square shapes: 0.87-1.11 per shape,
//     none better on every shape (RESULTS.md). Under Skylake's (544 x 48, MC 960) the old
//     table is 4% faster on 1024^3 here (one K block instead of two), as it must be where the
//     L2 is 1 MiB, not 256 KiB.
//   float64, old table vs model: AVX-512 1024^3 0.96, fwd 0.97, 512^3 0.98; AVX2 0.95 / 0.99
//     / 0.99.
//   generic 4x8 float32 (the non-x86 path), old 512 / 256 / 512 vs model 2048 / 1024 / 120:
//     512^3 0.96, fwd 0.94.
// bf16 (gemm_bf16.cpp): the same model with S = 2 for the native kernel's bf16 panels (12 x 32:
//   KC = 1024 from (1), NC = 224 on a 1 MiB L2); the emulated levels' float32 panels take the
//   native KC (the K split must not depend on the level) and the rest from the model at S = 4.
// Hybrid CPUs (P and E cores with different L2): CPUID describes the core the process runs on
// at startup; LAMINA_CACHES pins either.
#include <atomic>
#include <deque>
#include <mutex>

#include "lamina/gemm.hpp"
#include "lamina/runtime.hpp"
#include "ukernels.hpp"

namespace lamina {
namespace {

constexpr std::int64_t kKcMax = 1024;
constexpr std::int64_t kMinPanels = 3;
constexpr std::int64_t kKcAlign = 16;
constexpr std::int64_t kMaxPackedABytes = std::int64_t(8) << 20;

// All ISA levels x {float32, float64}, for one set of cache sizes.
struct BlockTable {
  GemmBlocks b[kNumIsa][2];
  CacheSizes caches;  // what they were computed from
};

BlockTable compute(const CacheSizes& c) {
  BlockTable t;
  t.caches = c;
  for (int i = 0; i < kNumIsa; ++i)
    for (int d = 0; d < 2; ++d) t.b[i][d] = gemm_blocks_for(c, static_cast<Isa>(i), d == 1);
  return t;
}

struct Active {
  std::mutex mu;
  std::deque<BlockTable> tables;  // every table ever published stays valid (a few bytes each)
  std::atomic<const BlockTable*> cur{nullptr};
  // Pinned blocks (set_gemm_blocks, for tuning), nullptr: the model's.
  std::deque<GemmBlocks> pins;
  std::atomic<const GemmBlocks*> pinned[kNumIsa][2] = {};

  void publish() {
    std::lock_guard<std::mutex> lock(mu);
    tables.push_back(compute(cache_sizes()));
    cur.store(&tables.back(), std::memory_order_release);
  }
  Active() {
    publish();
    on_cache_change([] { active().publish(); });
  }
  static Active& active() {
    static Active a;
    return a;
  }
};

}  // namespace

namespace gemm_detail {
GemmBlocks gemm_blocks_model(const CacheSizes& caches, int mr_, int nr_, int bytes,
                             std::int64_t kc_fixed) {
  const std::int64_t mr = mr_, nr = nr_, s = bytes;
  const std::int64_t l2_share = caches.l2 / 2;
  // KC: (1) and (2) above.
  std::int64_t kc = l2_share / (s * (kMinPanels * nr + 2 * mr));
  if (kc > kKcMax) kc = kKcMax;
  kc = kc / kKcAlign * kKcAlign;
  if (kc < kKcAlign) kc = kKcAlign;
  if (kc_fixed > 0) kc = kc_fixed;
  // NC: the rest of the L2 share, whole micro-panels.
  std::int64_t panels = (l2_share - 2 * mr * kc * s) / (kc * nr * s);
  if (panels < 1) panels = 1;
  // MC: the packed A block in its L3 budget.
  std::int64_t a_budget = caches.l3 / 4;
  if (a_budget > kMaxPackedABytes) a_budget = kMaxPackedABytes;
  std::int64_t mc = a_budget / (kc * s) / mr * mr;
  if (mc < mr) mc = mr;
  return GemmBlocks{static_cast<int>(mr), static_cast<int>(nr), mc, kc, panels * nr};
}
}  // namespace gemm_detail

GemmBlocks gemm_blocks_for(const CacheSizes& caches, Isa isa, bool f64) {
  const auto& ki = gemm_detail::kernels_for(static_cast<int>(isa));
  return gemm_detail::gemm_blocks_model(caches, f64 ? ki.f64.mr : ki.f32.mr,
                                        f64 ? ki.f64.nr : ki.f32.nr, f64 ? 8 : 4, 0);
}

namespace gemm_detail {
const GemmBlocks& blocks(int isa, bool f64) {
  if (isa < 0) isa = 0;
  if (isa >= kNumIsa) isa = kNumIsa - 1;
  Active& a = Active::active();
  const GemmBlocks* pin = a.pinned[isa][f64 ? 1 : 0].load(std::memory_order_acquire);
  if (pin) return *pin;
  return a.cur.load(std::memory_order_acquire)->b[isa][f64 ? 1 : 0];
}

const CacheSizes& model_caches() {
  return Active::active().cur.load(std::memory_order_acquire)->caches;
}
}  // namespace gemm_detail

bool set_gemm_blocks(Isa isa, bool f64, const GemmBlocks* pin) {
  const int i = static_cast<int>(isa);
  if (i < 0 || i >= kNumIsa) return false;
  Active& a = Active::active();
  std::lock_guard<std::mutex> lock(a.mu);
  if (pin == nullptr) {
    a.pinned[i][f64 ? 1 : 0].store(nullptr, std::memory_order_release);
    return true;
  }
  const GemmBlocks& model = a.cur.load(std::memory_order_acquire)->b[i][f64 ? 1 : 0];
  if (pin->mr != model.mr || pin->nr != model.nr || pin->mc < pin->mr ||
      pin->mc % pin->mr != 0 || pin->kc < 1 || pin->nc < pin->nr || pin->nc % pin->nr != 0)
    return false;
  a.pins.push_back(*pin);
  a.pinned[i][f64 ? 1 : 0].store(&a.pins.back(), std::memory_order_release);
  return true;
}

template <class T>
GemmBlocks gemm_blocks() {
  return gemm_detail::blocks(static_cast<int>(active_isa()), sizeof(T) == 8);
}
template GemmBlocks gemm_blocks<float>();
template GemmBlocks gemm_blocks<double>();

}  // namespace lamina
