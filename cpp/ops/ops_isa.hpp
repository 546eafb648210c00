// Internal: the per-ISA islands of cpp/ops (plain functions, ISA in the name). Only the x86
// build compiles the islands; callers pick them per call from active_isa().
#pragma once

#include <cstdint>

namespace lamina::ops_isa {

// One contiguous row of an activation. `act` is the int value of lamina::Activation. Returns
// false (and writes nothing) when the island has no kernel for `act`: the caller then runs the
// reference row.
template <class T>
using ActForwardRow = bool (*)(int act, T alpha, std::int64_t n, const T* x, T* y);
template <class T>
using ActBackwardRow = bool (*)(int act, T alpha, std::int64_t n, const T* x, const T* y,
                                const T* dy, T* dx);

#if defined(LAMINA_X86)
bool act_forward_row_f32_avx512(int act, float alpha, std::int64_t n, const float* x, float* y);
bool act_forward_row_f64_avx512(int act, double alpha, std::int64_t n, const double* x,
                                double* y);
bool act_backward_row_f32_avx512(int act, float alpha, std::int64_t n, const float* x,
                                 const float* y, const float* dy, float* dx);
bool act_backward_row_f64_avx512(int act, double alpha, std::int64_t n, const double* x,
                                 const double* y, const double* dy, double* dx);
bool act_forward_row_f32_avx2(int act, float alpha, std::int64_t n, const float* x, float* y);
bool act_forward_row_f64_avx2(int act, double alpha, std::int64_t n, const double* x, double* y);
bool act_backward_row_f32_avx2(int act, float alpha, std::int64_t n, const float* x,
                               const float* y, const float* dy, float* dx);
bool act_backward_row_f64_avx2(int act, double alpha, std::int64_t n, const double* x,
                               const double* y, const double* dy, double* dx);

// Dropout over elements [begin, end) of a layer (begin a multiple of 16): packed keep bits for
// those elements go to mask + begin / 8 (when mask != nullptr; the last partial byte is
// zero-padded), and y[i] = keep ? x[i] * scale : 0 when x != nullptr. `key` is the per-call
// stream key, `threshold` keeps u32 < threshold. Bit-identical to the generic path.
void dropout_chunk_f32_avx512(std::uint64_t key, std::uint64_t threshold, std::int64_t begin,
                              std::int64_t end, float scale, const float* x, float* y,
                              std::uint8_t* mask);
void dropout_chunk_f64_avx512(std::uint64_t key, std::uint64_t threshold, std::int64_t begin,
                              std::int64_t end, double scale, const double* x, double* y,
                              std::uint8_t* mask);
void dropout_apply_f32_avx512(std::int64_t begin, std::int64_t end, float scale,
                              const std::uint8_t* mask, const float* dy, float* dx);
void dropout_apply_f64_avx512(std::int64_t begin, std::int64_t end, double scale,
                              const std::uint8_t* mask, const double* dy, double* dx);
// The same four entry points on AVX2 (8 elements per step).
void dropout_chunk_f32_avx2(std::uint64_t key, std::uint64_t threshold, std::int64_t begin,
                            std::int64_t end, float scale, const float* x, float* y,
                            std::uint8_t* mask);
void dropout_chunk_f64_avx2(std::uint64_t key, std::uint64_t threshold, std::int64_t begin,
                            std::int64_t end, double scale, const double* x, double* y,
                            std::uint8_t* mask);
void dropout_apply_f32_avx2(std::int64_t begin, std::int64_t end, float scale,
                            const std::uint8_t* mask, const float* dy, float* dx);
void dropout_apply_f64_avx2(std::int64_t begin, std::int64_t end, double scale,
                            const std::uint8_t* mask, const double* dy, double* dx);
#endif

}  // namespace lamina::ops_isa
