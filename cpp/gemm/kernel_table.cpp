// Per-ISA GEMM configuration as data: {MR, NR, kernels, packers} for float and double, indexed
// by lamina::Isa (generic, avx2, avx512, avx512_bf16). gemm.cpp looks the entry up on every
// call, because tests lower the active ISA at runtime. MC, KC and NC come from the caches of this CPU through
// the blocking model (blocking.cpp); the block sizes measured before the model, below, are its
// check (tests/test_blocking.py computes the model for this box's caches and compares).
//
// Block sizes measured on the 2-core AVX-512 box (Zen 5: 48 KiB L1d, 1 MiB L2, 32 MiB L3; see
// benchmarks/RESULTS.md), MC = 2040 everywhere:
// - KC: the largest K block (gemm.cpp splits K into equal blocks of at most KC). The kernel
//   walks B micro-panels (KC x NR) streamed from L2 against one A micro-panel (MR x KC).
// - NC: columns of B per task; its packed KC x NC block stays in L2.
// AVX-512 float32: KC = 1024, NC = 96 (3 micro-panels, a 384 KiB block) beat 512 x 256 by 3% on
// 1024^3 and 1-2% on 2048^3 and (128x784)(784x512), the same on 512^3 (in-process A/B, 1
// thread): one K block up to K = 1024 writes C once instead of write + read-modify-write. It
// lost at NC = 64 and 128-192 (-3 to -6%); 512 x 256 beat 384 x 256 by 2-3%.
// AVX2 float32: KC = 1024, NC = 192 (12 micro-panels) beat 256 x 512 by 2% on 1024^3 and 4% on
// (128x784)(784x512) (same A/B, LAMINA_ISA=avx2).
// - MC: rows of A packed per round (all of K); it lives in L3 and is shared by the threads.
// float64 (not tuned): KC x NC = 256 x 256 (AVX2 6x8), 256 x 192 (AVX-512 12x16).
#include "lamina/runtime.hpp"
#include "ukernels.hpp"

namespace lamina {
namespace gemm_detail {
namespace {

const IsaKernels kTable[kNumIsa] = {
    // generic
    {{4, 8, gemm_ref_f32_4x8, pack_a_ref<float>, pack_b_ref<float>,
      "gemm_ref_f32_4x8", nullptr, 0, 0, nullptr, 0, 0, nullptr},
     {4, 4, gemm_ref_f64_4x4, pack_a_ref<double>, pack_b_ref<double>,
      "gemm_ref_f64_4x4", nullptr, 0, 0, nullptr, 0, 0, nullptr}},
#if defined(LAMINA_X86)
    // avx2
    {{6, 16, gemm_avx2_f32_6x16, pack_a_avx2_f32, pack_b_avx2_f32,
      "gemm_avx2_f32_6x16",
      gemm_avx2_f32_direct_6x16, 6, 16, gemm_avx2_f32_direct_12x8, 12, 8,
      gemm_avx2_f32_6x16_packb},
     {6, 8, gemm_avx2_f64_6x8, pack_a_ref<double>, pack_b_ref<double>,
      "gemm_avx2_f64_6x8",
      gemm_avx2_f64_direct_6x8, 6, 8, gemm_avx2_f64_direct_12x4, 12, 4,
      gemm_avx2_f64_6x8_packb}},
    // avx512
    {{12, 32, gemm_avx512_f32_12x32, pack_a_avx512_f32, pack_b_avx512_f32,
      "gemm_avx512_f32_12x32",
      gemm_avx512_f32_direct_8x32, 8, 32, gemm_avx512_f32_direct_12x16, 12, 16,
      gemm_avx512_f32_12x32_packb},
     {12, 16, gemm_avx512_f64_12x16, pack_a_ref<double>, pack_b_ref<double>,
      "gemm_avx512_f64_12x16",
      gemm_avx512_f64_direct_8x16, 8, 16, gemm_avx512_f64_direct_12x8, 12, 8,
      gemm_avx512_f64_12x16_packb}},
    // avx512_bf16: the float32 / float64 kernels are the avx512 ones (the bf16 GEMM has its
    // own plans, gemm_bf16.cpp)
    {{12, 32, gemm_avx512_f32_12x32, pack_a_avx512_f32, pack_b_avx512_f32,
      "gemm_avx512_f32_12x32",
      gemm_avx512_f32_direct_8x32, 8, 32, gemm_avx512_f32_direct_12x16, 12, 16,
      gemm_avx512_f32_12x32_packb},
     {12, 16, gemm_avx512_f64_12x16, pack_a_ref<double>, pack_b_ref<double>,
      "gemm_avx512_f64_12x16",
      gemm_avx512_f64_direct_8x16, 8, 16, gemm_avx512_f64_direct_12x8, 12, 8,
      gemm_avx512_f64_12x16_packb}},
#else
    {{4, 8, gemm_ref_f32_4x8, pack_a_ref<float>, pack_b_ref<float>,
      "gemm_ref_f32_4x8", nullptr, 0, 0, nullptr, 0, 0, nullptr},
     {4, 4, gemm_ref_f64_4x4, pack_a_ref<double>, pack_b_ref<double>,
      "gemm_ref_f64_4x4", nullptr, 0, 0, nullptr, 0, 0, nullptr}},
    {{4, 8, gemm_ref_f32_4x8, pack_a_ref<float>, pack_b_ref<float>,
      "gemm_ref_f32_4x8", nullptr, 0, 0, nullptr, 0, 0, nullptr},
     {4, 4, gemm_ref_f64_4x4, pack_a_ref<double>, pack_b_ref<double>,
      "gemm_ref_f64_4x4", nullptr, 0, 0, nullptr, 0, 0, nullptr}},
    {{4, 8, gemm_ref_f32_4x8, pack_a_ref<float>, pack_b_ref<float>,
      "gemm_ref_f32_4x8", nullptr, 0, 0, nullptr, 0, 0, nullptr},
     {4, 4, gemm_ref_f64_4x4, pack_a_ref<double>, pack_b_ref<double>,
      "gemm_ref_f64_4x4", nullptr, 0, 0, nullptr, 0, 0, nullptr}},
#endif
};

}  // namespace

const IsaKernels& kernels_for(int isa) {
  if (isa < 0) isa = 0;
  if (isa >= kNumIsa) isa = kNumIsa - 1;
  return kTable[isa];
}

template <>
const KernelInfo<float>& kernel_info<float>(int isa) {
  return kernels_for(isa).f32;
}
template <>
const KernelInfo<double>& kernel_info<double>(int isa) {
  return kernels_for(isa).f64;
}

}  // namespace gemm_detail
}  // namespace lamina
