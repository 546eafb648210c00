// AVX-512 island of dropout (see dropout.cpp / dropout_rng.hpp for the generator): 8 SplitMix64
// words per vector = 16 u32 lanes = 16 elements in index order, so one unsigned compare gives
// the 16 packed keep bits (two mask bytes) and the lane predicate of the masked multiply.
// Integer arithmetic only in the generator: bit-identical to the generic loop.
// Island rules: only intrinsics and local static helpers here (no shared inline/template code).
#include <immintrin.h>

// gcc 12 flags the `_mm512_undefined_*` pass-through operand of its own shift intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdint>

#include "ops_isa.hpp"

namespace lamina::ops_isa {

namespace {

constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ull;

inline __m512i mix_v(__m512i z) {
  const __m512i c1 = _mm512_set1_epi64(static_cast<long long>(0xBF58476D1CE4E5B9ull));
  const __m512i c2 = _mm512_set1_epi64(static_cast<long long>(0x94D049BB133111EBull));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), c1);
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), c2);
  return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

// Counter vector for the 8 pair words that decide elements [i, i + 16), i even.
inline __m512i counters(std::uint64_t key, std::int64_t i) {
  const std::uint64_t base = key + (static_cast<std::uint64_t>(i) / 2 + 1) * kGamma;
  return _mm512_add_epi64(
      _mm512_set1_epi64(static_cast<long long>(base)),
      _mm512_set_epi64(static_cast<long long>(7 * kGamma), static_cast<long long>(6 * kGamma),
                       static_cast<long long>(5 * kGamma), static_cast<long long>(4 * kGamma),
                       static_cast<long long>(3 * kGamma), static_cast<long long>(2 * kGamma),
                       static_cast<long long>(kGamma), 0));
}

inline void store_bits(std::uint8_t* mask, std::int64_t i, unsigned k, std::int64_t live) {
  mask[i >> 3] = static_cast<std::uint8_t>(k & 0xFFu);
  if (live > 8) mask[(i >> 3) + 1] = static_cast<std::uint8_t>(k >> 8);
}

inline unsigned load_bits(const std::uint8_t* mask, std::int64_t i, std::int64_t live) {
  unsigned k = mask[i >> 3];
  if (live > 8) k |= static_cast<unsigned>(mask[(i >> 3) + 1]) << 8;
  return k;
}

inline void apply16(float scale, unsigned k, unsigned live, const float* x, float* y) {
  const __m512 s = _mm512_set1_ps(scale);
  if (live == 0xFFFFu) {
    _mm512_storeu_ps(y, _mm512_maskz_mul_ps(static_cast<__mmask16>(k), _mm512_loadu_ps(x), s));
  } else {
    const __mmask16 l = static_cast<__mmask16>(live);
    const __m512 v = _mm512_maskz_loadu_ps(l, x);
    _mm512_mask_storeu_ps(y, l, _mm512_maskz_mul_ps(static_cast<__mmask16>(k & live), v, s));
  }
}

inline void apply16(double scale, unsigned k, unsigned live, const double* x, double* y) {
  const __m512d s = _mm512_set1_pd(scale);
  for (int h = 0; h < 2; ++h) {
    const unsigned kh = (k >> (8 * h)) & 0xFFu, lh = (live >> (8 * h)) & 0xFFu;
    if (lh == 0) break;
    if (lh == 0xFFu) {
      _mm512_storeu_pd(y + 8 * h, _mm512_maskz_mul_pd(static_cast<__mmask8>(kh),
                                                      _mm512_loadu_pd(x + 8 * h), s));
    } else {
      const __mmask8 l = static_cast<__mmask8>(lh);
      _mm512_mask_storeu_pd(y + 8 * h, l,
                            _mm512_maskz_mul_pd(static_cast<__mmask8>(kh & lh),
                                                _mm512_maskz_loadu_pd(l, x + 8 * h), s));
    }
  }
}

template <class T, bool kMask, bool kApply>
void chunk(std::uint64_t key, std::uint64_t threshold, std::int64_t begin, std::int64_t end,
           T scale, const T* x, T* y, std::uint8_t* mask) {
  const __m512i thr = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(threshold)));
  const __m512i step = _mm512_set1_epi64(static_cast<long long>(8 * kGamma));
  __m512i z = counters(key, begin);
  std::int64_t i = begin;
  for (; i + 16 <= end; i += 16) {
    const unsigned k = _mm512_cmplt_epu32_mask(mix_v(z), thr);
    z = _mm512_add_epi64(z, step);
    if (kMask) store_bits(mask, i, k, 16);
    if (kApply) apply16(scale, k, 0xFFFFu, x + i, y + i);
  }
  if (i < end) {
    const std::int64_t r = end - i;
    const unsigned live = (1u << r) - 1u;
    const unsigned k = _mm512_cmplt_epu32_mask(mix_v(z), thr) & live;
    if (kMask) store_bits(mask, i, k, r);
    if (kApply) apply16(scale, k, live, x + i, y + i);
  }
}

template <class T>
void chunk_any(std::uint64_t key, std::uint64_t threshold, std::int64_t begin, std::int64_t end,
               T scale, const T* x, T* y, std::uint8_t* mask) {
  if (mask && x) return chunk<T, true, true>(key, threshold, begin, end, scale, x, y, mask);
  if (mask) return chunk<T, true, false>(key, threshold, begin, end, scale, x, y, mask);
  if (x) return chunk<T, false, true>(key, threshold, begin, end, scale, x, y, mask);
}

template <class T>
void apply(std::int64_t begin, std::int64_t end, T scale, const std::uint8_t* mask, const T* dy,
           T* dx) {
  std::int64_t i = begin;
  for (; i + 16 <= end; i += 16) apply16(scale, load_bits(mask, i, 16), 0xFFFFu, dy + i, dx + i);
  if (i < end) {
    const std::int64_t r = end - i;
    apply16(scale, load_bits(mask, i, r), (1u << r) - 1u, dy + i, dx + i);
  }
}

}  // namespace

void dropout_chunk_f32_avx512(std::uint64_t key, std::uint64_t threshold, std::int64_t begin,
                              std::int64_t end, float scale, const float* x, float* y,
                              std::uint8_t* mask) {
  chunk_any<float>(key, threshold, begin, end, scale, x, y, mask);
}

void dropout_chunk_f64_avx512(std::uint64_t key, std::uint64_t threshold, std::int64_t begin,
                              std::int64_t end, double scale, const double* x, double* y,
                              std::uint8_t* mask) {
  chunk_any<double>(key, threshold, begin, end, scale, x, y, mask);
}

void dropout_apply_f32_avx512(std::int64_t begin, std::int64_t end, float scale,
                              const std::uint8_t* mask, const float* dy, float* dx) {
  apply<float>(begin, end, scale, mask, dy, dx);
}

void dropout_apply_f64_avx512(std::int64_t begin, std::int64_t end, double scale,
                              const std::uint8_t* mask, const double* dy, double* dx) {
  apply<double>(begin, end, scale, mask, dy, dx);
}

}  // namespace lamina::ops_isa
