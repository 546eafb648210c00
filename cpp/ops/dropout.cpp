// Dropout with counter-based masks: keep(seed, step, layer, index), packed bit masks,
// inverted scaling.
//
// Contract: cpp/include/lamina/dropout.hpp; the generator is documented in dropout_rng.hpp.
// Shapes: x, y, dy, dx are flat (n,) buffers (a (batch, cols) activation, row-major); mask is
// (n + 7) / 8 bytes, bit b of byte i <-> element 8 i + b, unused high bits of the last byte 0.
//
// Scaling: y = x * s with s = T(1 / (1 - rate)) (one multiply, the same on every ISA; it can
// differ from x / (1 - rate) by one rounding).
//
// Paths: the generic loop below (also the oracle), the AVX2 island (dropout_avx2.cpp, 8
// elements per step, 64-bit multiplies from vpmuludq) and the AVX-512 island
// (dropout_avx512.cpp, 16 elements per step: 8 SplitMix64 words = 16 u32 lanes, one compare
// mask that is both the packed byte pair and the lane predicate of the masked multiply). They
// produce identical bits because the arithmetic is exact integer arithmetic mod 2^64, and
// dropped elements are +0.0 everywhere.
// Big buffers are cut into chunks of whole 512-element blocks run by parallel_for; an element's
// bit depends on its index only, so the thread count never changes a mask.
#include "lamina/dropout.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dropout_rng.hpp"
#include "lamina/runtime.hpp"
#include "ops_isa.hpp"

namespace lamina {

namespace {

using dropout_rng::pair_word;

void check_rate(double rate) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw std::invalid_argument("dropout rate must be in [0, 1), got " + std::to_string(rate));
}

// u32 < threshold keeps; rate > 0 gives threshold <= 2^32 - 1 so it fits the u32 compares.
std::uint64_t keep_threshold(double rate) {
  const double t = std::nearbyint((1.0 - rate) * 4294967296.0);
  if (t >= 4294967295.0) return 4294967295ull;
  if (t <= 0.0) return 0;
  return static_cast<std::uint64_t>(t);
}

// Elements per parallel task (~15 us of AVX-512 work; smaller calls run inline, since a pool
// dispatch costs microseconds and far more when a worker is descheduled on a loaded machine);
// chunk edges are multiples of 512 (whole bytes, whole vectors).
constexpr std::int64_t kGrain = 1 << 18;

template <class F>
void for_chunks(std::int64_t n, F&& body) {
  const std::int64_t blocks = (n + 511) / 512;
  const std::int64_t tasks = (n + kGrain - 1) / kGrain;
  if (tasks <= 1) {
    body(0, n);
    return;
  }
  parallel_for(tasks, [&](std::int64_t t) {
    const std::int64_t b = blocks * t / tasks * 512;
    std::int64_t e = blocks * (t + 1) / tasks * 512;
    if (e > n) e = n;
    if (e > b) body(b, e);
  });
}

// Integer twin of T for the branch-free select below.
template <class T>
struct Bits;
template <>
struct Bits<float> {
  using type = std::uint32_t;
};
template <>
struct Bits<double> {
  using type = std::uint64_t;
};

// y = bit ? x * scale : +0.0, without a branch (random bits would mispredict half the time)
// and with the same +0.0 the AVX-512 masked multiply writes.
template <class T>
inline T select_scaled(unsigned bit, T x, T scale) {
  using U = typename Bits<T>::type;
  const T v = x * scale;
  U u;
  std::memcpy(&u, &v, sizeof(T));
  u &= U(0) - static_cast<U>(bit);
  T r;
  std::memcpy(&r, &u, sizeof(T));
  return r;
}

// Generic reference: [begin, end), begin a multiple of 8.
template <class T>
void chunk_generic(std::uint64_t key, std::uint64_t thr, std::int64_t begin, std::int64_t end,
                   T scale, const T* x, T* y, std::uint8_t* mask) {
  for (std::int64_t i = begin; i < end; i += 8) {
    const int len = end - i < 8 ? static_cast<int>(end - i) : 8;
    unsigned bits = 0;
    const std::uint64_t c0 = static_cast<std::uint64_t>(i) >> 1;
    for (int p = 0; p < 4; ++p) {
      const std::uint64_t h = pair_word(key, c0 + p);
      bits |= static_cast<unsigned>((h & 0xFFFFFFFFull) < thr) << (2 * p);
      bits |= static_cast<unsigned>((h >> 32) < thr) << (2 * p + 1);
    }
    bits &= (1u << len) - 1u;
    if (mask) mask[i >> 3] = static_cast<std::uint8_t>(bits);
    if (x) {
      if (len == 8) {
        for (int b = 0; b < 8; ++b) y[i + b] = select_scaled<T>((bits >> b) & 1u, x[i + b], scale);
      } else {
        for (int b = 0; b < len; ++b)
          y[i + b] = select_scaled<T>((bits >> b) & 1u, x[i + b], scale);
      }
    }
  }
}

template <class T>
void apply_generic(std::int64_t begin, std::int64_t end, T scale, const std::uint8_t* mask,
                   const T* dy, T* dx) {
  std::int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const unsigned bits = mask[i >> 3];
    for (int b = 0; b < 8; ++b) dx[i + b] = select_scaled<T>((bits >> b) & 1u, dy[i + b], scale);
  }
  for (; i < end; ++i) dx[i] = select_scaled<T>((mask[i >> 3] >> (i & 7)) & 1u, dy[i], scale);
}

// Per-ISA kernels: a table indexed by active_isa(), looked up per call (tests lower the level
// at runtime). Entries left null run the generic loop.
template <class T>
struct Kernels {
  void (*chunk)(std::uint64_t, std::uint64_t, std::int64_t, std::int64_t, T, const T*, T*,
                std::uint8_t*);
  void (*apply)(std::int64_t, std::int64_t, T, const std::uint8_t*, const T*, T*);
};

const Kernels<float>& kernels_f32(Isa isa) {
  static const Kernels<float> table[kNumIsa] = {
      {chunk_generic<float>, apply_generic<float>},
#if defined(LAMINA_X86)
      {ops_isa::dropout_chunk_f32_avx2, ops_isa::dropout_apply_f32_avx2},
      {ops_isa::dropout_chunk_f32_avx512, ops_isa::dropout_apply_f32_avx512},
      {ops_isa::dropout_chunk_f32_avx512, ops_isa::dropout_apply_f32_avx512},  // avx512_bf16
#else
      {chunk_generic<float>, apply_generic<float>},
      {chunk_generic<float>, apply_generic<float>},
      {chunk_generic<float>, apply_generic<float>},
#endif
  };
  return table[static_cast<int>(isa)];
}

const Kernels<double>& kernels_f64(Isa isa) {
  static const Kernels<double> table[kNumIsa] = {
      {chunk_generic<double>, apply_generic<double>},
#if defined(LAMINA_X86)
      {ops_isa::dropout_chunk_f64_avx2, ops_isa::dropout_apply_f64_avx2},
      {ops_isa::dropout_chunk_f64_avx512, ops_isa::dropout_apply_f64_avx512},
      {ops_isa::dropout_chunk_f64_avx512, ops_isa::dropout_apply_f64_avx512},  // avx512_bf16
#else
      {chunk_generic<double>, apply_generic<double>},
      {chunk_generic<double>, apply_generic<double>},
      {chunk_generic<double>, apply_generic<double>},
#endif
  };
  return table[static_cast<int>(isa)];
}

template <class T>
const Kernels<T>& kernels(Isa isa);
template <>
const Kernels<float>& kernels<float>(Isa isa) { return kernels_f32(isa); }
template <>
const Kernels<double>& kernels<double>(Isa isa) { return kernels_f64(isa); }

template <class T>
void run_chunk(std::uint64_t key, std::uint64_t thr, std::int64_t b, std::int64_t e, T s,
               const T* x, T* y, std::uint8_t* mask) {
  kernels<T>(active_isa()).chunk(key, thr, b, e, s, x, y, mask);
}

template <class T>
void run_apply(std::int64_t b, std::int64_t e, T s, const std::uint8_t* mask, const T* dy,
               T* dx) {
  kernels<T>(active_isa()).apply(b, e, s, mask, dy, dx);
}

}  // namespace

bool dropout_keep(std::uint64_t seed, std::uint64_t step, std::uint32_t layer, double rate,
                  std::int64_t index) {
  check_rate(rate);
  if (rate == 0.0) return true;
  const std::uint64_t h = pair_word(dropout_rng::stream_key(seed, step, layer),
                                    static_cast<std::uint64_t>(index) >> 1);
  const std::uint64_t u = (index & 1) ? (h >> 32) : (h & 0xFFFFFFFFull);
  return u < keep_threshold(rate);
}

void dropout_mask(std::uint64_t seed, std::uint64_t step, std::uint32_t layer, double rate,
                  std::int64_t n, std::uint8_t* mask) {
  check_rate(rate);
  if (n <= 0) return;
  if (rate == 0.0) {
    for (std::int64_t i = 0; i < n / 8; ++i) mask[i] = 0xFF;
    if (n % 8) mask[n / 8] = static_cast<std::uint8_t>((1u << (n % 8)) - 1u);
    return;
  }
  const std::uint64_t key = dropout_rng::stream_key(seed, step, layer);
  const std::uint64_t thr = keep_threshold(rate);
  for_chunks(n, [&](std::int64_t b, std::int64_t e) {
    run_chunk<float>(key, thr, b, e, 1.0f, nullptr, nullptr, mask);
  });
}

template <class T>
void dropout_forward(std::uint64_t seed, std::uint64_t step, std::uint32_t layer, double rate,
                     std::int64_t n, const T* x, T* y, std::uint8_t* mask) {
  check_rate(rate);
  if (n <= 0) return;
  if (rate == 0.0) {
    if (y != x)
      for (std::int64_t i = 0; i < n; ++i) y[i] = x[i];
    if (mask) dropout_mask(seed, step, layer, 0.0, n, mask);
    return;
  }
  const std::uint64_t key = dropout_rng::stream_key(seed, step, layer);
  const std::uint64_t thr = keep_threshold(rate);
  const T scale = static_cast<T>(1.0 / (1.0 - rate));
  for_chunks(n, [&](std::int64_t b, std::int64_t e) {
    run_chunk<T>(key, thr, b, e, scale, x, y, mask);
  });
}

template <class T>
void dropout_backward(double rate, std::int64_t n, const std::uint8_t* mask, const T* dy,
                      T* dx) {
  check_rate(rate);
  if (n <= 0) return;
  const T scale = static_cast<T>(1.0 / (1.0 - rate));
  for_chunks(n, [&](std::int64_t b, std::int64_t e) { run_apply<T>(b, e, scale, mask, dy, dx); });
}

template <class T>
void dropout_forward_reference(std::uint64_t seed, std::uint64_t step, std::uint32_t layer,
                               double rate, std::int64_t n, const T* x, T* y,
                               std::uint8_t* mask) {
  check_rate(rate);
  if (n <= 0) return;
  const std::uint64_t key = dropout_rng::stream_key(seed, step, layer);
  const std::uint64_t thr = rate == 0.0 ? (1ull << 32) : keep_threshold(rate);
  const T scale = static_cast<T>(1.0 / (1.0 - rate));
  chunk_generic<T>(key, thr, 0, n, scale, x, y, mask);
}

template void dropout_forward<float>(std::uint64_t, std::uint64_t, std::uint32_t, double,
                                     std::int64_t, const float*, float*, std::uint8_t*);
template void dropout_forward<double>(std::uint64_t, std::uint64_t, std::uint32_t, double,
                                      std::int64_t, const double*, double*, std::uint8_t*);
template void dropout_backward<float>(double, std::int64_t, const std::uint8_t*, const float*,
                                      float*);
template void dropout_backward<double>(double, std::int64_t, const std::uint8_t*,
                                       const double*, double*);
template void dropout_forward_reference<float>(std::uint64_t, std::uint64_t, std::uint32_t,
                                               double, std::int64_t, const float*, float*,
                                               std::uint8_t*);
template void dropout_forward_reference<double>(std::uint64_t, std::uint64_t, std::uint32_t,
                                                double, std::int64_t, const double*, double*,
                                                std::uint8_t*);

}  // namespace lamina
