// Compiler spellings the kernels need, for GCC / Clang (clang-cl included) and Microsoft's cl.
// An ISA island must not instantiate inline code from shared headers (its copy, compiled with
// AVX flags, could be the one the linker keeps), so the math and memcpy the islands call are
// GCC/Clang builtins, or elsewhere the plain C functions of <math.h>/<string.h> (extern, not
// inline), never the inline C++ overloads of <cmath>.
#pragma once

// A helper that must be inlined into its caller (the micro-kernels' register tiles).
#if defined(_MSC_VER) && !defined(__clang__)
#define LAMINA_ALWAYS_INLINE __forceinline
#else
#define LAMINA_ALWAYS_INLINE inline __attribute__((always_inline))
#endif

#if defined(__GNUC__)
#define LAMINA_MEMCPY __builtin_memcpy
#define LAMINA_LOG __builtin_log
#else  // cl, clang-cl
#include <math.h>
#include <string.h>
#define LAMINA_MEMCPY memcpy
#define LAMINA_LOG log
#endif
