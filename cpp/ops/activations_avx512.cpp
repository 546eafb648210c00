// AVX-512 island of the activations (placeholder: no fast rows yet, the reference runs).
#include <cstdint>

#include "ops_isa.hpp"

namespace lamina::ops_isa {

bool act_forward_row_f32_avx512(int, float, std::int64_t, const float*, float*) { return false; }
bool act_forward_row_f64_avx512(int, double, std::int64_t, const double*, double*) {
  return false;
}
bool act_backward_row_f32_avx512(int, float, std::int64_t, const float*, const float*,
                                 const float*, float*) {
  return false;
}
bool act_backward_row_f64_avx512(int, double, std::int64_t, const double*, const double*,
                                 const double*, double*) {
  return false;
}

}  // namespace lamina::ops_isa
