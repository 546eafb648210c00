// AVX2 island of dropout (see dropout.cpp / dropout_rng.hpp for the generator): 4 SplitMix64
// words per vector = 8 u32 lanes = 8 elements in index order. AVX2 has no 64-bit multiply, so
// a*b mod 2^64 = lo(a)lo(b) + ((hi(a)lo(b) + lo(a)hi(b)) << 32) with vpmuludq; the u32
// compare is a signed compare after flipping the sign bits. Integer arithmetic only:
// bit-identical to the generic loop and to the AVX-512 island.
// Island rules: only intrinsics and local static helpers here (no shared inline/template code).
#include <immintrin.h>

#include <cstdint>

#include "lamina/compiler.hpp"
#include "ops_isa.hpp"

namespace lamina::ops_isa {

namespace {

constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ull;

inline __m256i mullo64(__m256i a, __m256i b, __m256i b_hi) {
  const __m256i lolo = _mm256_mul_epu32(a, b);
  const __m256i cross =
      _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b), _mm256_mul_epu32(a, b_hi));
  return _mm256_add_epi64(lolo, _mm256_slli_epi64(cross, 32));
}

struct Mix {
  __m256i c1, c1_hi, c2, c2_hi;
  Mix() {
    const std::uint64_t k1 = 0xBF58476D1CE4E5B9ull, k2 = 0x94D049BB133111EBull;
    c1 = _mm256_set1_epi64x(static_cast<long long>(k1));
    c1_hi = _mm256_set1_epi64x(static_cast<long long>(k1 >> 32));
    c2 = _mm256_set1_epi64x(static_cast<long long>(k2));
    c2_hi = _mm256_set1_epi64x(static_cast<long long>(k2 >> 32));
  }
  __m256i operator()(__m256i z) const {
    z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), c1, c1_hi);
    z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), c2, c2_hi);
    return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
  }
};

// Per-lane keep predicate (all ones = kept) for the 8 elements of 4 words.
inline __m256i keep_lanes(const Mix& mix, __m256i z, __m256i thr_flipped) {
  const __m256i sign = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  const __m256i u = _mm256_xor_si256(mix(z), sign);
  return _mm256_cmpgt_epi32(thr_flipped, u);  // u < thr as unsigned
}

// Lanes of element bits b (1 << lane) of one mask byte: all ones where the bit is set.
inline __m256i lanes_of_byte(unsigned byte) {
  const __m256i bitv = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i b = _mm256_and_si256(_mm256_set1_epi32(static_cast<int>(byte)), bitv);
  return _mm256_cmpeq_epi32(b, bitv);
}

inline void apply8(const float* x, float* y, float scale, __m256i keep) {
  const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x), _mm256_set1_ps(scale));
  _mm256_storeu_ps(y, _mm256_and_ps(v, _mm256_castsi256_ps(keep)));
}

inline void apply8(const double* x, double* y, double scale, __m256i keep) {
  const __m256d s = _mm256_set1_pd(scale);
  const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(keep));
  const __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(keep, 1));
  _mm256_storeu_pd(y, _mm256_and_pd(_mm256_mul_pd(_mm256_loadu_pd(x), s), _mm256_castsi256_pd(lo)));
  const __m256d v_hi = _mm256_mul_pd(_mm256_loadu_pd(x + 4), s);
  _mm256_storeu_pd(y + 4, _mm256_and_pd(v_hi, _mm256_castsi256_pd(hi)));
}

// y = bit ? x * scale : +0.0 for a tail of len < 8 elements (same result as the vector path).
template <class T, class U>
inline void apply_tail(const T* x, T* y, T scale, unsigned bits, int len) {
  for (int b = 0; b < len; ++b) {
    const T v = x[b] * scale;
    U u;
    LAMINA_MEMCPY(&u, &v, sizeof(T));
    u &= U(0) - static_cast<U>((bits >> b) & 1u);
    LAMINA_MEMCPY(&y[b], &u, sizeof(T));
  }
}

template <class T, class U>
void chunk(std::uint64_t key, std::uint64_t threshold, std::int64_t begin, std::int64_t end,
           T scale, const T* x, T* y, std::uint8_t* mask) {
  const Mix mix;
  const __m256i thr = _mm256_set1_epi32(
      static_cast<int>(static_cast<std::uint32_t>(threshold) ^ 0x80000000u));
  const __m256i step = _mm256_set1_epi64x(static_cast<long long>(4 * kGamma));
  const std::uint64_t base = key + (static_cast<std::uint64_t>(begin) / 2 + 1) * kGamma;
  __m256i z = _mm256_add_epi64(
      _mm256_set1_epi64x(static_cast<long long>(base)),
      _mm256_setr_epi64x(0, static_cast<long long>(kGamma), static_cast<long long>(2 * kGamma),
                         static_cast<long long>(3 * kGamma)));
  std::int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256i keep = keep_lanes(mix, z, thr);
    z = _mm256_add_epi64(z, step);
    if (mask)
      mask[i >> 3] = static_cast<std::uint8_t>(_mm256_movemask_ps(_mm256_castsi256_ps(keep)));
    if (x) apply8(x + i, y + i, scale, keep);
  }
  if (i < end) {
    const int len = static_cast<int>(end - i);
    const unsigned bits = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(
                              keep_lanes(mix, z, thr)))) & ((1u << len) - 1u);
    if (mask) mask[i >> 3] = static_cast<std::uint8_t>(bits);
    if (x) apply_tail<T, U>(x + i, y + i, scale, bits, len);
  }
}

template <class T, class U>
void apply(std::int64_t begin, std::int64_t end, T scale, const std::uint8_t* mask, const T* dy,
           T* dx) {
  std::int64_t i = begin;
  for (; i + 8 <= end; i += 8) apply8(dy + i, dx + i, scale, lanes_of_byte(mask[i >> 3]));
  if (i < end) apply_tail<T, U>(dy + i, dx + i, scale, mask[i >> 3], static_cast<int>(end - i));
}

}  // namespace

void dropout_chunk_f32_avx2(std::uint64_t key, std::uint64_t threshold, std::int64_t begin,
                            std::int64_t end, float scale, const float* x, float* y,
                            std::uint8_t* mask) {
  chunk<float, std::uint32_t>(key, threshold, begin, end, scale, x, y, mask);
}

void dropout_chunk_f64_avx2(std::uint64_t key, std::uint64_t threshold, std::int64_t begin,
                            std::int64_t end, double scale, const double* x, double* y,
                            std::uint8_t* mask) {
  chunk<double, std::uint64_t>(key, threshold, begin, end, scale, x, y, mask);
}

void dropout_apply_f32_avx2(std::int64_t begin, std::int64_t end, float scale,
                            const std::uint8_t* mask, const float* dy, float* dx) {
  apply<float, std::uint32_t>(begin, end, scale, mask, dy, dx);
}

void dropout_apply_f64_avx2(std::int64_t begin, std::int64_t end, double scale,
                            const std::uint8_t* mask, const double* dy, double* dx) {
  apply<double, std::uint64_t>(begin, end, scale, mask, dy, dx);
}

}  // namespace lamina::ops_isa
