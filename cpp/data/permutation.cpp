// The epoch's shuffle (contract in lamina/data.hpp). The sequence is the one lamina has used
// since its first release (it was a Cython function then), so seeded runs keep their order.
#include "lamina/data.hpp"

namespace lamina {

namespace {

inline std::uint64_t splitmix64(std::uint64_t* state) {
  *state += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = *state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Unbiased integer in [0, bound) by rejection (bound > 0).
inline std::uint64_t bounded(std::uint64_t* state, std::uint64_t bound) {
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const std::uint64_t r = splitmix64(state);
    if (r >= threshold) return r % bound;
  }
}

inline std::uint64_t initial_state(std::uint64_t seed, std::uint64_t epoch) {
  return seed * 0xD1B54A32D192ED03ull + epoch * 0x9E3779B97F4A7C15ull + 1;
}

}  // namespace

void permutation(std::int64_t n, std::uint64_t seed, std::uint64_t epoch, std::int64_t* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = i;
  std::uint64_t state = initial_state(seed, epoch);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(bounded(&state, static_cast<std::uint64_t>(i + 1)));
    const std::int64_t t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
}

void permutation_ref(std::int64_t n, std::uint64_t seed, std::uint64_t epoch, std::int64_t* out) {
  // Draw the whole swap sequence first, then apply it: the same draws, a different loop shape.
  std::uint64_t state = initial_state(seed, epoch);
  for (std::int64_t i = 0; i < n; ++i) out[i] = i;
  std::int64_t i = n - 1;
  while (i > 0) {
    std::uint64_t r;
    const std::uint64_t bound = static_cast<std::uint64_t>(i) + 1;
    do {
      r = splitmix64(&state);
    } while (r < (0 - bound) % bound);
    const auto j = static_cast<std::int64_t>(r % bound);
    std::int64_t t = out[j];
    out[j] = out[i];
    out[i] = t;
    --i;
  }
}

}  // namespace lamina
