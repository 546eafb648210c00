// CPU feature detection (cpuid + xgetbv) and the active ISA level.
//
// The level is detected once. AVX2 needs AVX2+FMA in cpuid and YMM state enabled by the OS
// (XCR0 bits 1,2); AVX-512 needs F, DQ, BW, VL and ZMM state (XCR0 bits 5,6,7). This file is
// compiled for baseline x86-64: xgetbv is emitted as raw bytes so no -mxsave flag is needed.
#include "lamina/runtime.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>

#if defined(LAMINA_X86) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define LAMINA_HAVE_CPUID 1
#endif
#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>  // _mm_getcsr / _mm_setcsr: SSE, part of baseline x86-64
#define LAMINA_HAVE_MXCSR 1
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
std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  // xgetbv with ecx = 0, as bytes: 0f 01 d0
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

Isa detect() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::generic;
  const bool osxsave = (c >> 27) & 1u;
  const bool avx = (c >> 28) & 1u;
  const bool fma = (c >> 12) & 1u;
  if (!osxsave || !avx) return Isa::generic;
  const std::uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6u) == 0x6u;
  const bool zmm_state = (xcr0 & 0xE6u) == 0xE6u;
  if (__get_cpuid_max(0, nullptr) < 7) return Isa::generic;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = (b >> 5) & 1u;
  const bool avx512f = (b >> 16) & 1u, avx512dq = (b >> 17) & 1u;
  const bool avx512bw = (b >> 30) & 1u, avx512vl = (b >> 31) & 1u;
  if (!(ymm_state && avx2 && fma)) return Isa::generic;
  if (zmm_state && avx512f && avx512dq && avx512bw && avx512vl) return Isa::avx512;
  return Isa::avx2;
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
                    "' is not one of generic, avx2, avx512; using " + isa_name(max_isa);
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

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
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

std::uint32_t fp_mode() {
#ifdef LAMINA_HAVE_MXCSR
  return _mm_getcsr();
#else
  return 0;
#endif
}

void set_fp_mode(std::uint32_t mode) {
#ifdef LAMINA_HAVE_MXCSR
  _mm_setcsr(mode);
#else
  (void)mode;
#endif
}

ScopedFlushDenormals::ScopedFlushDenormals() : saved_(fp_mode()) {
#ifdef LAMINA_HAVE_MXCSR
  set_fp_mode(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
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
