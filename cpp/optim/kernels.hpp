// Internal to cpp/optim: the per-call constants of an update and the per-ISA loop entry
// points. The same loops (kernels.inc) are compiled three times: baseline (optim.cpp),
// AVX2+FMA (optim_avx2.cpp) and AVX-512 (optim_avx512.cpp); optim.cpp picks one through a
// table indexed by lamina::active_isa(). Plain data and plain functions only: nothing here may
// emit code, so no AVX instruction can leak into the baseline objects.
#pragma once

#include <cstdint>

namespace lamina::optim_detail {

// Which loop to run (slot layout as in optim_num_slots).
enum Loop : int {
  kSgd = 0, kSgdMomentum, kSgdNesterov,
  kRmsprop, kRmspropMomentum, kRmspropCentered, kRmspropMomentumCentered,
  kAdam, kAdamAmsgrad, kAdagrad, kAdamax, kNadam, kAdadelta, kLion,
};

// Everything a loop needs, converted once per call to the parameter's dtype.
template <class T>
struct Kernel {
  int loop;
  // gradient transform: g' = clip((g + l1*sign(w) + l2x2*w) * scale, -clip, clip)
  T l1, l2x2, scale, clip;  // clip = +inf when clipvalue is off
  T wd;                     // weight_decay * lr (0 when off): w -= w * wd
  T lr;
  T mom;                    // sgd / rmsprop momentum
  T rho, one_minus_rho;     // rmsprop, adadelta
  T b1, one_minus_b1, one_minus_b2, b2, eps;  // b1: lion
  T alpha;                  // adam: lr*sqrt(1-b2^t)/(1-b1^t); adamax: lr/(1-b1^t)
  T c_m, c_g, inv_bc2;      // nadam: u_{t+1}/(1-U_{t+1}), (1-u_t)/(1-U_t), 1/(1-b2^t)
};

// Fixed-order sums over [i0, i1) in double (8 interleaved accumulators, combined pairwise):
//   kSumSq:        out[0] = sum g^2
//   kSumSqPenalty: out[0] = sum (g + l1*sign(w) + l2x2*w)^2
//   kSumAbsSq:     out[0] = sum |w|, out[1] = sum w^2        (g unused)
enum Reduce : int { kSumSq = 0, kSumSqPenalty, kSumAbsSq };

// Runs k.loop over elements [i0, i1) of w, g and the slots s0..s2 (unused ones may be null).
using RangeF32 = void (*)(const Kernel<float>& k, std::int64_t i0, std::int64_t i1, float* w,
                          const float* g, float* s0, float* s1, float* s2);
using RangeF64 = void (*)(const Kernel<double>& k, std::int64_t i0, std::int64_t i1, double* w,
                          const double* g, double* s0, double* s1, double* s2);
using ReduceF32 = void (*)(int mode, std::int64_t i0, std::int64_t i1, const float* g,
                           const float* w, double l1, double l2x2, double* out);
using ReduceF64 = void (*)(int mode, std::int64_t i0, std::int64_t i1, const double* g,
                           const double* w, double l1, double l2x2, double* out);

void range_generic_f32(const Kernel<float>&, std::int64_t, std::int64_t, float*, const float*,
                       float*, float*, float*);
void range_generic_f64(const Kernel<double>&, std::int64_t, std::int64_t, double*,
                       const double*, double*, double*, double*);
void reduce_generic_f32(int, std::int64_t, std::int64_t, const float*, const float*, double,
                        double, double*);
void reduce_generic_f64(int, std::int64_t, std::int64_t, const double*, const double*, double,
                        double, double*);
#if defined(LAMINA_X86)
void reduce_avx2_f32(int, std::int64_t, std::int64_t, const float*, const float*, double,
                     double, double*);
void reduce_avx2_f64(int, std::int64_t, std::int64_t, const double*, const double*, double,
                     double, double*);
void reduce_avx512_f32(int, std::int64_t, std::int64_t, const float*, const float*, double,
                       double, double*);
void reduce_avx512_f64(int, std::int64_t, std::int64_t, const double*, const double*, double,
                       double, double*);
void range_avx2_f32(const Kernel<float>&, std::int64_t, std::int64_t, float*, const float*,
                    float*, float*, float*);
void range_avx2_f64(const Kernel<double>&, std::int64_t, std::int64_t, double*, const double*,
                    double*, double*, double*);
void range_avx512_f32(const Kernel<float>&, std::int64_t, std::int64_t, float*, const float*,
                      float*, float*, float*);
void range_avx512_f64(const Kernel<double>&, std::int64_t, std::int64_t, double*,
                      const double*, double*, double*, double*);
#endif

}  // namespace lamina::optim_detail
