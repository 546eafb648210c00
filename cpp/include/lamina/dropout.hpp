// Dropout with counter-based masks.
//
// Contract
// - keep(seed, step, layer, index) is a pure function of its four arguments: whether element
//   `index` (row * cols + col of the layer's (batch, cols) activation) is kept at training
//   step `step` of layer `layer`. P(keep) = 1 - rate (rate quantised to 2^-32 at worst).
//   Masks are therefore reproducible and independent of the thread count and of the ISA level.
// - Inverted dropout: y = keep ? x * s : +0.0 with s = T(1 / (1 - rate)) (one multiply,
//   identical bits on every ISA). rate == 0: y = x. 0 <= rate < 1, else std::invalid_argument.
// - Generator: SplitMix64 seeded per (seed, step, layer), two elements per 64-bit output; see
//   cpp/ops/dropout_rng.hpp for the exact definition and its statistical quality.
// - dropout_forward may run in place (y == x) and writes the packed keep bits (1 = kept) to
//   `mask` ((n + 7) / 8 bytes, bit b of byte i is element 8*i + b) when mask != nullptr.
// - dropout_backward: dx = keep ? dy * s : +0.0 using the stored mask; dx may alias dy.
#pragma once

#include <cstdint>

namespace lamina {

void dropout_mask(std::uint64_t seed, std::uint64_t step, std::uint32_t layer, double rate,
                  std::int64_t n, std::uint8_t* mask);

template <class T>
void dropout_forward(std::uint64_t seed, std::uint64_t step, std::uint32_t layer, double rate,
                     std::int64_t n, const T* x, T* y, std::uint8_t* mask);

template <class T>
void dropout_backward(double rate, std::int64_t n, const std::uint8_t* mask, const T* dy, T* dx);

// ---- helpers (added with the implementation) ----------------------------------------------
// keep(seed, step, layer, index) for one element (scalar; the same bit dropout_mask writes).
bool dropout_keep(std::uint64_t seed, std::uint64_t step, std::uint32_t layer, double rate,
                  std::int64_t index);
// The plain one-thread generic loop (the oracle of the per-ISA and threaded paths).
template <class T>
void dropout_forward_reference(std::uint64_t seed, std::uint64_t step, std::uint32_t layer,
                               double rate, std::int64_t n, const T* x, T* y,
                               std::uint8_t* mask);

}  // namespace lamina
