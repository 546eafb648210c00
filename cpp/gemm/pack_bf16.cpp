// bfloat16 rounding and the emulated bf16 plans: the levels without AVX512_BF16 round op(A) and
// op(B) to bf16 while packing them into float32 panels and run their float32 micro-kernel.
//
// round_to_bf16 is VCVTNEPS2BF16 in integer arithmetic (contract: lamina/gemm_bf16.hpp):
//   zero / subnormal -> signed zero; NaN -> quiet NaN (bit 22 set), top 16 bits kept;
//   otherwise bits + 0x7fff + (bit 16), truncated to the top 16 bits (round to nearest even;
//   the carry runs into the exponent, so the largest floats round to infinity).
// Emulated panels (ukernels_bf16.hpp): the level's float32 packer writes kp = kc + (kc & 1)
// steps (the pad step zero), then round_swap_pairs rounds every value and swaps the two steps
// of each pair, so the float32 kernel adds the products in vdpbf16ps's order. The products of
// two bf16 values are exact in float32, so an FMA kernel and a multiply-then-add kernel give
// the same bits. Baseline C++: the rounding loop is branch-free so the compiler vectorizes it.
#include <cstdint>
#include <cstring>
#include <string>

#include "lamina/gemm_bf16.hpp"
#include "ukernels.hpp"
#include "ukernels_bf16.hpp"

namespace lamina {
namespace {

inline std::uint32_t round_bits(std::uint32_t u) {
  const std::uint32_t rne = u + 0x7fffu + ((u >> 16) & 1u);
  const std::uint32_t nan = u | 0x00400000u;
  std::uint32_t r = (u & 0x7fffffffu) > 0x7f800000u ? nan : rne;
  r = (u & 0x7f800000u) == 0 ? (u & 0x80000000u) : r;
  return r & 0xffff0000u;
}

}  // namespace

float round_to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  u = round_bits(u);
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}

std::uint16_t bf16_bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  return static_cast<std::uint16_t>(round_bits(u) >> 16);
}

namespace gemm_detail {

void round_swap_pairs(float* x, std::int64_t npairs, std::int64_t step) {
  std::uint32_t* u = reinterpret_cast<std::uint32_t*>(x);
  for (std::int64_t q = 0; q < npairs; ++q) {
    std::uint32_t* r0 = u + 2 * q * step;
    std::uint32_t* r1 = r0 + step;
    for (std::int64_t i = 0; i < step; ++i) {
      const std::uint32_t t0 = round_bits(r0[i]), t1 = round_bits(r1[i]);
      r0[i] = t1;
      r1[i] = t0;
    }
  }
}

namespace {

// Packs with the float32 packer of level ISA, then pads, rounds and swaps (see the top).
template <int ISA>
void pack_a_emu(bool trans, std::int64_t mc, std::int64_t kc, const float* a, std::int64_t lda,
                int mr, float* dst) {
  const PackA<float> pack = kernel_info<float>(ISA).pack_a;
  const std::int64_t kp = kc + (kc & 1), panels = (mc + mr - 1) / mr;
  if (kp == kc) {
    pack(trans, mc, kc, a, lda, mr, dst);
  } else {
    for (std::int64_t ip = 0; ip < panels; ++ip) {
      const std::int64_t i0 = ip * mr, rows = mc - i0 < mr ? mc - i0 : mr;
      float* d = dst + ip * mr * kp;
      pack(trans, rows, kc, trans ? a + i0 : a + i0 * lda, lda, mr, d);
      std::memset(d + kc * mr, 0, sizeof(float) * static_cast<std::size_t>(mr));
    }
  }
  round_swap_pairs(dst, panels * kp / 2, mr);
}

template <int ISA>
void pack_b_emu(bool trans, std::int64_t kc, std::int64_t nc, const float* b, std::int64_t ldb,
                int nr, float* dst) {
  const PackB<float> pack = kernel_info<float>(ISA).pack_b;
  const std::int64_t kp = kc + (kc & 1), panels = (nc + nr - 1) / nr;
  if (kp == kc) {
    pack(trans, kc, nc, b, ldb, nr, dst);
  } else {
    for (std::int64_t jp = 0; jp < panels; ++jp) {
      const std::int64_t j0 = jp * nr, cols = nc - j0 < nr ? nc - j0 : nr;
      float* d = dst + jp * nr * kp;
      pack(trans, kc, cols, trans ? b + j0 * ldb : b + j0, ldb, nr, d);
      std::memset(d + kc * nr, 0, sizeof(float) * static_cast<std::size_t>(nr));
    }
  }
  round_swap_pairs(dst, panels * kp / 2, nr);
}

template <int ISA>
Bf16Plan<float> emulated() {
  static const std::string name = std::string("bf16emu_") + kernel_info<float>(ISA).name;
  const KernelInfo<float>& ki = kernel_info<float>(ISA);
  return Bf16Plan<float>{ki.mr, ki.nr, ki.kernel, pack_a_emu<ISA>, pack_b_emu<ISA>,
                         name.c_str(), nullptr};
}

}  // namespace

const Bf16Plan<float>& bf16_emulated_plan(int isa) {
  static const Bf16Plan<float> plans[kNumIsa] = {emulated<0>(), emulated<1>(), emulated<2>(),
                                                 emulated<3>()};
  if (isa < 0) isa = 0;
  if (isa >= kNumIsa) isa = kNumIsa - 1;
  return plans[isa];
}

}  // namespace gemm_detail
}  // namespace lamina
