// Counter-based Gaussian noise: one standard normal variate per element, a pure function of
// (seed, step, layer, index), so noise is reproducible and independent of the thread count.
//
// Contract
// - normal(seed, step, layer, i) = sqrt(-2 ln u1) * cos(2 pi u2) (Box-Muller, cosine branch),
//   with u1 = (hi32 + 0.5) / 2^32 and u2 = (lo32 + 0.5) / 2^32 from the 64-bit SplitMix64
//   word h_i = mix(k + (i + 1) G) of the dropout generator's stream key k(seed, step, layer)
//   (cpp/ops/dropout_rng.hpp). u1 is in (0, 1), so the logarithm is finite (|z| < 6.7).
//   Computed in double with std:: maths, one element at a time (no ISA paths).
// - normal_noise writes out[i] = T(mean + stddev * normal(seed, step, layer, i)), i < n.
// - float and double are instantiated.
#pragma once

#include <cstdint>

namespace lamina {

double noise_normal(std::uint64_t seed, std::uint64_t step, std::uint32_t layer,
                    std::int64_t index);

template <class T>
void normal_noise(std::uint64_t seed, std::uint64_t step, std::uint32_t layer, double mean,
                  double stddev, std::int64_t n, T* out);

}  // namespace lamina
