// The data path of fit: the epoch's shuffle.
//
// Contract
// - permutation(n, seed, epoch, out): writes a permutation of 0..n-1 to out (n int64, n >= 0),
//   a Fisher-Yates shuffle driven by a counter-based generator (splitmix64 seeded from seed
//   and epoch), so the order is reproducible, independent of threads, and cheap (one pass).
// - permutation_ref: the same shuffle written plainly, the test oracle.
#pragma once

#include <cstdint>

namespace lamina {

void permutation(std::int64_t n, std::uint64_t seed, std::uint64_t epoch, std::int64_t* out);
void permutation_ref(std::int64_t n, std::uint64_t seed, std::uint64_t epoch, std::int64_t* out);

}  // namespace lamina
