// Counter-based Gaussian noise (contract: cpp/include/lamina/noise.hpp).
// Shapes: out is a flat (n,) buffer (a (batch, cols) activation, row-major); element i gets the
// variate of counter i. One pass, one thread: the noise layers are memory-bound and small next
// to the gemms around them, and a plain loop keeps the bits independent of the thread count.
#include "lamina/noise.hpp"

#include <cmath>

#include "dropout_rng.hpp"

namespace lamina {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kInv2to32 = 1.0 / 4294967296.0;

double normal_from_word(std::uint64_t h) {
  const double u1 = (static_cast<double>(h >> 32) + 0.5) * kInv2to32;
  const double u2 = (static_cast<double>(h & 0xFFFFFFFFull) + 0.5) * kInv2to32;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

}  // namespace

double noise_normal(std::uint64_t seed, std::uint64_t step, std::uint32_t layer,
                    std::int64_t index) {
  const std::uint64_t key = dropout_rng::stream_key(seed, step, layer);
  return normal_from_word(dropout_rng::pair_word(key, static_cast<std::uint64_t>(index)));
}

template <class T>
void normal_noise(std::uint64_t seed, std::uint64_t step, std::uint32_t layer, double mean,
                  double stddev, std::int64_t n, T* out) {
  const std::uint64_t key = dropout_rng::stream_key(seed, step, layer);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint64_t h = dropout_rng::pair_word(key, static_cast<std::uint64_t>(i));
    out[i] = static_cast<T>(mean + stddev * normal_from_word(h));
  }
}

template void normal_noise<float>(std::uint64_t, std::uint64_t, std::uint32_t, double, double,
                                  std::int64_t, float*);
template void normal_noise<double>(std::uint64_t, std::uint64_t, std::uint32_t, double, double,
                                   std::int64_t, double*);

}  // namespace lamina
