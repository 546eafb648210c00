// Internal: the counter-based generator behind dropout masks (shared by dropout.cpp and the
// dropout test oracle; the AVX-512 island re-implements the same arithmetic with intrinsics
// and does NOT include this header).
//
// Generator: SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014; output function = Stafford's "Mix13" variant of the MurmurHash3
// finalizer). For one dropout call the stream key is
//     k = mix(mix(mix(seed + G) ^ (step + 2G)) ^ (layer + 3G)),   G = 0x9E3779B97F4A7C15,
// and the 64-bit word for pair c = index / 2 is h_c = mix(k + (c + 1) G): exactly the c-th
// output of a SplitMix64 generator seeded with k. Element 2c uses the low 32 bits of h_c,
// element 2c+1 the high 32 bits; it is kept when that u32 < threshold = round((1-rate) 2^32).
// Quality: SplitMix64 passes TestU01 BigCrush and PractRand (to 32 TB, per its authors and
// later audits); each mix stage is a bijection on 64 bits, so keys differ for every distinct
// (seed, step, layer) with the other two fixed, and two different keys give windows of the
// same 2^64-period Weyl sequence that overlap only with probability ~ n^2 / 2^64.
#pragma once

#include <cstdint>

namespace lamina::dropout_rng {

constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ull;

inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline std::uint64_t stream_key(std::uint64_t seed, std::uint64_t step, std::uint32_t layer) {
  std::uint64_t k = mix(seed + kGamma);
  k = mix(k ^ (step + 2 * kGamma));
  return mix(k ^ (static_cast<std::uint64_t>(layer) + 3 * kGamma));
}

// The 64-bit word that decides elements 2c and 2c+1.
inline std::uint64_t pair_word(std::uint64_t key, std::uint64_t c) {
  return mix(key + (c + 1) * kGamma);
}

}  // namespace lamina::dropout_rng
