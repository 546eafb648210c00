// lamina runtime: CPU feature detection, the active ISA level, and the thread pool.
//
// Contract
// - ISA levels are ordered: generic < avx2 < avx512 < avx512_bf16 (AVX-512 plus AVX512_BF16's
//   vdpbf16ps; every kernel family without a bf16 kernel runs its avx512 kernels there).
//   `supported_isa()` is what the CPU and the OS (XCR0 state) allow, detected once with cpuid + xgetbv. `active_isa()` is what kernels use:
//   the best supported level, lowered (never raised) by the env var LAMINA_ISA at first use or by
//   `set_isa()`. Kernel families index their per-ISA tables with `active_isa()`.
// - The pool runs `parallel_for(n_tasks, fn)`: task t in [0, n_tasks) is run exactly once, by
//   one thread, so a kernel that maps tasks to disjoint outputs and reduces in a fixed order
//   inside a task gives bit-identical results for every thread count. Calls from inside a task,
//   or while another caller holds the pool, run inline on the calling thread (same results).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lamina {

enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2, avx512_bf16 = 3 };
constexpr int kNumIsa = 4;

const char* isa_name(Isa isa);
// Parses "generic" | "avx2" | "avx512" | "avx512_bf16"; returns false on anything else.
bool parse_isa(const std::string& name, Isa* out);

// Highest level this CPU + OS can run (cpuid/xgetbv, computed once).
Isa max_supported_isa();
// All supported levels, lowest first.
std::vector<Isa> supported_isas();
// The level kernels dispatch on now.
Isa active_isa();
// Lowers (or restores up to max_supported_isa) the active level. Returns false (and changes
// nothing) when `isa` is above max_supported_isa().
bool set_isa(Isa isa);
// What LAMINA_ISA said at startup when it could not be honoured ("" when it was fine or unset):
// an unknown name, or a level this CPU does not support.
const std::string& isa_env_problem();

// ---- caches and CPU name -------------------------------------------------------------------
// Data cache sizes of one core, in bytes. l3 is the L3 the core belongs to (shared with the
// other cores of its complex), as the OS/hypervisor reports it. Read once at first use: CPUID
// (leaf 4 on Intel, 0x8000001D on AMD), sysfs (/sys/devices/system/cpu/cpu0/cache) where CPUID
// has no answer (non-x86 builds: sysfs only), else the defaults below. Then the environment
// variable LAMINA_CACHES overrides any of them, e.g. "l1d=32K,l2=512K,l3=32M" (suffixes K, M,
// G = KiB, MiB, GiB; a plain number is bytes), so the GEMM blocking of another CPU can be run
// and measured on this one. A malformed value is ignored as a whole and reported once through
// caches_env_problem(), like LAMINA_ISA.
struct CacheSizes {
  std::int64_t l1d = 32 * 1024;
  std::int64_t l2 = 512 * 1024;
  std::int64_t l3 = 8 * 1024 * 1024;
};
// Where each detected size came from: "cpuid", "sysfs" or "default".
struct CacheSources {
  const char* l1d = "default";
  const char* l2 = "default";
  const char* l3 = "default";
};
// The sizes in use (detected, then LAMINA_CACHES or set_cache_sizes applied).
CacheSizes cache_sizes();
// What the hardware reported, before any override, and where each value came from.
CacheSizes detected_cache_sizes();
CacheSources detected_cache_sources();
// Replaces the sizes in use (benchmarks: run another CPU's blocking in-process). Every size
// must be in [kMinCacheBytes, kMaxCacheBytes]; returns false and changes nothing otherwise.
// Listeners registered with on_cache_change (the GEMM blocking) recompute at once.
bool set_cache_sizes(const CacheSizes& c);
constexpr std::int64_t kMinCacheBytes = 4 * 1024;
constexpr std::int64_t kMaxCacheBytes = std::int64_t(1) << 34;  // 16 GiB
// Parses "l1d=32K,l2=512K,l3=32M" (any subset, any order) onto *inout. On error returns false,
// leaves *inout unchanged and says why in *why.
bool parse_cache_sizes(const std::string& text, CacheSizes* inout, std::string* why);
// Why LAMINA_CACHES was ignored ("" when it was honoured or unset).
const std::string& caches_env_problem();
// Called (in registration order) after every change of cache_sizes(); registered once per
// process by a kernel family that derives parameters from the caches.
void on_cache_change(void (*fn)());
// The CPU's name: the CPUID brand string on x86, else /proc/cpuinfo's "model name" (or
// "Processor" / "CPU part" on Arm), else "unknown".
const std::string& cpu_model();

struct BuildInfo {
  const char* compiler;
  const char* build_type;
  const char* flags;
  bool x86_kernels;  // whether the AVX2/AVX-512 islands were compiled in
};
BuildInfo build_info();

// ---- threads ----------------------------------------------------------------------------
// Most threads a pool may have: more than any machine lamina targets has cores, and far below
// the point where creating them exhausts the process's thread or memory limits.
constexpr int kMaxThreads = 1024;
// Threads the pool uses (caller included), >= 1. Default: LAMINA_NUM_THREADS if set, else
// OMP_NUM_THREADS (its first entry) if set, else the usable cores (sched affinity); a value
// that is not a whole number in [1, kMaxThreads] counts as unset.
int num_threads();
// Resizes the pool; 1 <= n <= kMaxThreads, else throws std::invalid_argument. Safe after
// fork(): the child gets a fresh pool of the parent's size.
void set_num_threads(int n);
// Usable cores of this process.
int usable_cores();

// Runs fn(t) for t in [0, n_tasks), each exactly once, on up to min(num_threads(), max_threads)
// threads (the caller included) that claim tasks from a shared counter; blocks until all are
// done. Which thread runs a task is not fixed (a descheduled worker claims nothing), so a task
// must depend only on t. Exceptions from tasks are rethrown (the first one) after all finished.
void parallel_for(std::int64_t n_tasks, const std::function<void(std::int64_t)>& fn,
                  int max_threads = 0);

// ---- floating-point mode --------------------------------------------------------------
// The caller's floating-point control state (MXCSR on x86: rounding, flush-to-zero,
// denormals-are-zero; FPCR on AArch64) is handed to the pool's workers with every job, so a task computes the
// same bits on whichever thread runs it.
std::uint32_t fp_mode();
void set_fp_mode(std::uint32_t mode);

// Flushes subnormal results to zero and reads subnormal inputs as zero (FTZ + DAZ on x86,
// FPCR.FZ on AArch64; a no-op elsewhere) on this thread and, through the pool, on the workers, until destroyed.
// The step executor runs under it: subnormal moments and activations make SIMD arithmetic
// ~100x slower per element and carry no information a float32 network can use (TensorFlow
// flushes denormals on its CPU threads too).
class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  std::uint32_t saved_;
};

}  // namespace lamina
