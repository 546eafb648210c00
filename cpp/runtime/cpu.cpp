// CPU feature detection (cpuid + xgetbv), the active ISA level, the data cache sizes and the
// CPU's name.
//
// The level is detected once. AVX2 needs AVX2+FMA in cpuid and YMM state enabled by the OS
// (XCR0 bits 1,2); AVX-512 needs F, DQ, BW, VL and ZMM state (XCR0 bits 5,6,7); avx512_bf16
// needs that and AVX512_BF16 (CPUID leaf 7 subleaf 1, EAX bit 5). This file is
// compiled for baseline x86-64: xgetbv is emitted as raw bytes so no -mxsave flag is needed.
// GCC and Clang (clang-cl included) read cpuid through <cpuid.h>; Microsoft's cl through
// <intrin.h> __cpuidex and _xgetbv, which need no /arch flag. LAMINA_X86 means an x86-64
// target (cpp/CMakeLists.txt asks the compiler).
#include "lamina/runtime.hpp"

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#if defined(LAMINA_X86) && defined(_MSC_VER) && !defined(__clang__)
#include <immintrin.h>  // _xgetbv
#include <intrin.h>     // __cpuidex
#define LAMINA_HAVE_CPUID 1
#define LAMINA_CPUID_MSVC 1
#elif defined(LAMINA_X86) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define LAMINA_HAVE_CPUID 1
#endif
#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>  // _mm_getcsr / _mm_setcsr: SSE, part of baseline x86-64
#define LAMINA_HAVE_MXCSR 1
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define LAMINA_HAVE_FPCR 1  // AArch64: FPCR.FZ (bit 24) flushes denormal inputs and results
#endif

#ifndef LAMINA_COMPILER
#define LAMINA_COMPILER "unknown"
#endif
#ifndef LAMINA_BUILD_TYPE
#define LAMINA_BUILD_TYPE "unknown"
#endif
#ifndef LAMINA_BUILD_FLAGS
#define LAMINA_BUILD_FLAGS ""
#endif

namespace lamina {
namespace {

#ifdef LAMINA_HAVE_CPUID
// cpuid(leaf, subleaf) -> eax, ebx, ecx, edx.
void cpuid_count(unsigned leaf, unsigned sub, unsigned* a, unsigned* b, unsigned* c,
                 unsigned* d) {
#ifdef LAMINA_CPUID_MSVC
  int r[4] = {};
  __cpuidex(r, static_cast<int>(leaf), static_cast<int>(sub));
  *a = static_cast<unsigned>(r[0]);
  *b = static_cast<unsigned>(r[1]);
  *c = static_cast<unsigned>(r[2]);
  *d = static_cast<unsigned>(r[3]);
#else
  __cpuid_count(leaf, sub, *a, *b, *c, *d);
#endif
}

// The highest leaf of the range that `base` starts (0: basic, 0x80000000: extended).
unsigned cpuid_max(unsigned base) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  cpuid_count(base, 0, &a, &b, &c, &d);
  return a;
}

// cpuid(leaf, 0); false when the CPU does not have that leaf.
bool get_cpuid(unsigned leaf, unsigned* a, unsigned* b, unsigned* c, unsigned* d) {
  if (cpuid_max(leaf & 0x80000000u) < leaf) return false;
  cpuid_count(leaf, 0, a, b, c, d);
  return true;
}

std::uint64_t read_xcr0() {
#ifdef LAMINA_CPUID_MSVC
  return _xgetbv(0);
#else
  std::uint32_t eax = 0, edx = 0;
  // xgetbv with ecx = 0, as bytes: 0f 01 d0
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
#endif
}

Isa detect() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!get_cpuid(1, &a, &b, &c, &d)) return Isa::generic;
  const bool osxsave = (c >> 27) & 1u;
  const bool avx = (c >> 28) & 1u;
  const bool fma = (c >> 12) & 1u;
  if (!osxsave || !avx) return Isa::generic;
  const std::uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6u) == 0x6u;
  const bool zmm_state = (xcr0 & 0xE6u) == 0xE6u;
  if (cpuid_max(0) < 7) return Isa::generic;
  cpuid_count(7, 0, &a, &b, &c, &d);
  const bool avx2 = (b >> 5) & 1u;
  const bool avx512f = (b >> 16) & 1u, avx512dq = (b >> 17) & 1u;
  const bool avx512bw = (b >> 30) & 1u, avx512vl = (b >> 31) & 1u;
  if (!(ymm_state && avx2 && fma)) return Isa::generic;
  if (!(zmm_state && avx512f && avx512dq && avx512bw && avx512vl)) return Isa::avx2;
  if (a >= 1) {  // leaf 7's max subleaf
    unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
    cpuid_count(7, 1, &a1, &b1, &c1, &d1);
    if ((a1 >> 5) & 1u) return Isa::avx512_bf16;
  }
  return Isa::avx512;
}
#else
Isa detect() { return Isa::generic; }
#endif

struct IsaState {
  Isa max_isa;
  std::atomic<int> active;
  std::string env_problem;

  IsaState() : max_isa(detect()), active(static_cast<int>(max_isa)) {
    const char* env = std::getenv("LAMINA_ISA");
    if (env == nullptr || *env == '\0') return;
    Isa wanted;
    if (!parse_isa(env, &wanted)) {
      env_problem = std::string("LAMINA_ISA='") + env +
                    "' is not one of generic, avx2, avx512, avx512_bf16; using " + isa_name(max_isa);
    } else if (static_cast<int>(wanted) > static_cast<int>(max_isa)) {
      env_problem = std::string("LAMINA_ISA='") + env + "' is not supported by this CPU " +
                    "(LAMINA_ISA can only lower the level); using " + isa_name(max_isa);
    } else {
      active.store(static_cast<int>(wanted));
    }
  }
};

IsaState& state() {
  static IsaState s;
  return s;
}


// ---- caches ------------------------------------------------------------------------------

struct CacheRead {
  CacheSizes size;
  CacheSources src;
};

#ifdef LAMINA_HAVE_CPUID
// Walks a deterministic cache-parameters leaf (4 on Intel, 0x8000001D on AMD; same layout):
// subleaf i describes one cache until type == 0. Size = ways * partitions * line * sets.
void read_cpuid_caches(unsigned leaf, CacheRead* r) {
  for (unsigned i = 0; i < 16; ++i) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    cpuid_count(leaf, i, &a, &b, &c, &d);
    const unsigned type = a & 0x1fu;
    if (type == 0) break;
    const unsigned level = (a >> 5) & 0x7u;
    const std::int64_t ways = ((b >> 22) & 0x3ffu) + 1, parts = ((b >> 12) & 0x3ffu) + 1;
    const std::int64_t line = (b & 0xfffu) + 1, sets = static_cast<std::int64_t>(c) + 1;
    const std::int64_t bytes = ways * parts * line * sets;
    if (level == 1 && type == 1) { r->size.l1d = bytes; r->src.l1d = "cpuid"; }
    if (level == 2 && type != 2) { r->size.l2 = bytes; r->src.l2 = "cpuid"; }
    if (level == 3 && type != 2) { r->size.l3 = bytes; r->src.l3 = "cpuid"; }
  }
}

bool cpuid_vendor_is(const char* want) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!get_cpuid(0, &a, &b, &c, &d)) return false;
  char v[13];
  std::memcpy(v, &b, 4);
  std::memcpy(v + 4, &d, 4);
  std::memcpy(v + 8, &c, 4);
  v[12] = '\0';
  return std::strcmp(v, want) == 0;
}

void read_cpuid(CacheRead* r) {
  const unsigned max_basic = cpuid_max(0);
  const unsigned max_ext = cpuid_max(0x80000000u);
  if (cpuid_vendor_is("GenuineIntel") && max_basic >= 4) {
    read_cpuid_caches(4, r);
  } else if (cpuid_vendor_is("AuthenticAMD") || cpuid_vendor_is("HygonGenuine")) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    const bool topoext = max_ext >= 0x80000001u && get_cpuid(0x80000001u, &a, &b, &c, &d) &&
                         ((c >> 22) & 1u);
    if (topoext && max_ext >= 0x8000001Du) read_cpuid_caches(0x8000001Du, r);
  }
}
#endif

// sysfs: /sys/devices/system/cpu/cpu0/cache/index*/{level,type,size} ("48K", "2048K").
void read_sysfs(CacheRead* r) {
  for (int i = 0; i < 16; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream fl(dir + "level"), ft(dir + "type"), fs(dir + "size");
    if (!fl || !ft || !fs) break;
    int level = 0;
    std::string type, size;
    fl >> level;
    ft >> type;
    fs >> size;
    CacheSizes one;
    std::string why;
    const char* key = level == 1 ? "l1d" : level == 2 ? "l2" : level == 3 ? "l3" : nullptr;
    if (!key || type == "Instruction") continue;
    if (level == 1 && type != "Data") continue;
    if (!parse_cache_sizes(std::string(key) + "=" + size, &one, &why)) continue;
    if (level == 1 && std::strcmp(r->src.l1d, "default") == 0) { r->size.l1d = one.l1d; r->src.l1d = "sysfs"; }
    if (level == 2 && std::strcmp(r->src.l2, "default") == 0) { r->size.l2 = one.l2; r->src.l2 = "sysfs"; }
    if (level == 3 && std::strcmp(r->src.l3, "default") == 0) { r->size.l3 = one.l3; r->src.l3 = "sysfs"; }
  }
}

CacheRead detect_caches() {
  CacheRead r;
#ifdef LAMINA_HAVE_CPUID
  read_cpuid(&r);
#endif
  read_sysfs(&r);  // fills what CPUID did not answer (or everything off x86)
  return r;
}

std::string detect_model() {
#ifdef LAMINA_HAVE_CPUID
  if (cpuid_max(0x80000000u) >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      unsigned regs[4] = {};
      get_cpuid(0x80000002u + i, &regs[0], &regs[1], &regs[2], &regs[3]);
      std::memcpy(brand + 16 * i, regs, 16);
    }
    std::string s(brand);
    const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    if (b != std::string::npos) return s.substr(b, e - b + 1);
  }
#endif
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    for (const char* key : {"model name", "Processor", "CPU part"}) {
      if (line.compare(0, std::strlen(key), key) == 0) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string v = line.substr(colon + 1);
        const auto b = v.find_first_not_of(" \t");
        if (b != std::string::npos) return v.substr(b);
      }
    }
  }
  return "unknown";
}

struct CacheState {
  CacheRead detected = detect_caches();
  std::string env_problem;
  std::mutex mu;
  CacheSizes current;
  std::vector<void (*)()> listeners;

  CacheState() : current(detected.size) {
    const char* env = std::getenv("LAMINA_CACHES");
    if (env == nullptr || *env == '\0') return;
    std::string why;
    if (!parse_cache_sizes(env, &current, &why))
      env_problem = std::string("LAMINA_CACHES='") + env + "' is ignored: " + why +
                    " (expected e.g. l1d=32K,l2=512K,l3=32M)";
  }
};

CacheState& cache_state() {
  static CacheState s;
  return s;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512_bf16: return "avx512_bf16";
  }
  return "unknown";
}

bool parse_isa(const std::string& name, Isa* out) {
  for (int i = 0; i < kNumIsa; ++i) {
    if (name == isa_name(static_cast<Isa>(i))) {
      *out = static_cast<Isa>(i);
      return true;
    }
  }
  return false;
}

Isa max_supported_isa() { return state().max_isa; }

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (int i = 0; i <= static_cast<int>(max_supported_isa()); ++i) out.push_back(static_cast<Isa>(i));
  return out;
}

Isa active_isa() { return static_cast<Isa>(state().active.load(std::memory_order_relaxed)); }

bool set_isa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(max_supported_isa())) return false;
  state().active.store(static_cast<int>(isa));
  return true;
}

const std::string& isa_env_problem() { return state().env_problem; }

bool parse_cache_sizes(const std::string& text, CacheSizes* inout, std::string* why) {
  CacheSizes out = *inout;
  std::stringstream ss(text);
  std::string item;
  bool any = false;
  while (std::getline(ss, item, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      *why = "'" + item + "' is not key=size";
      return false;
    }
    std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::size_t pos = 0;
    while (pos < val.size() && std::isdigit(static_cast<unsigned char>(val[pos]))) ++pos;
    if (pos == 0 || pos > 12) {
      *why = "'" + val + "' is not a size";
      return false;
    }
    std::int64_t bytes = std::stoll(val.substr(0, pos));
    std::string unit = val.substr(pos);
    for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (unit == "K" || unit == "KB" || unit == "KIB") bytes <<= 10;
    else if (unit == "M" || unit == "MB" || unit == "MIB") bytes <<= 20;
    else if (unit == "G" || unit == "GB" || unit == "GIB") bytes <<= 30;
    else if (!(unit.empty() || unit == "B")) {
      *why = "'" + val + "' has an unknown unit (use K, M or G)";
      return false;
    }
    if (bytes < kMinCacheBytes || bytes > kMaxCacheBytes) {
      *why = key + "=" + val + " is outside [4K, 16G]";
      return false;
    }
    if (key == "l1d" || key == "l1") out.l1d = bytes;
    else if (key == "l2") out.l2 = bytes;
    else if (key == "l3") out.l3 = bytes;
    else {
      *why = "'" + key + "' is not one of l1d, l2, l3";
      return false;
    }
    any = true;
  }
  if (!any) {
    *why = "no sizes given";
    return false;
  }
  *inout = out;
  return true;
}

CacheSizes cache_sizes() {
  CacheState& s = cache_state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.current;
}

CacheSizes detected_cache_sizes() { return cache_state().detected.size; }
CacheSources detected_cache_sources() { return cache_state().detected.src; }
const std::string& caches_env_problem() { return cache_state().env_problem; }

bool set_cache_sizes(const CacheSizes& c) {
  for (std::int64_t v : {c.l1d, c.l2, c.l3})
    if (v < kMinCacheBytes || v > kMaxCacheBytes) return false;
  CacheState& s = cache_state();
  std::vector<void (*)()> listeners;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.current = c;
    listeners = s.listeners;
  }
  for (auto fn : listeners) fn();
  return true;
}

void on_cache_change(void (*fn)()) {
  CacheState& s = cache_state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.listeners.push_back(fn);
}

const std::string& cpu_model() {
  static const std::string m = detect_model();
  return m;
}

std::uint32_t fp_mode() {
#ifdef LAMINA_HAVE_MXCSR
  return _mm_getcsr();
#elif defined(LAMINA_HAVE_FPCR)
  std::uint64_t fpcr = 0;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  return static_cast<std::uint32_t>(fpcr);  // bits 32-63 are reserved (zero)
#else
  return 0;
#endif
}

void set_fp_mode(std::uint32_t mode) {
#ifdef LAMINA_HAVE_MXCSR
  _mm_setcsr(mode);
#elif defined(LAMINA_HAVE_FPCR)
  const std::uint64_t fpcr = mode;
  __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
#else
  (void)mode;
#endif
}

ScopedFlushDenormals::ScopedFlushDenormals() : saved_(fp_mode()) {
#ifdef LAMINA_HAVE_MXCSR
  set_fp_mode(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#elif defined(LAMINA_HAVE_FPCR)
  set_fp_mode(saved_ | (1u << 24));  // FZ
#endif
}

ScopedFlushDenormals::~ScopedFlushDenormals() { set_fp_mode(saved_); }

BuildInfo build_info() {
#ifdef LAMINA_X86
  const bool x86 = true;
#else
  const bool x86 = false;
#endif
  return BuildInfo{LAMINA_COMPILER, LAMINA_BUILD_TYPE, LAMINA_BUILD_FLAGS, x86};
}

}  // namespace lamina
