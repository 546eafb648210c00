// The optimizer loops (kernels.inc) compiled with -mavx512f/dq/bw/vl (an ISA island: CMake gives
// only *_avx512.cpp files these flags). Selected by optim.cpp when active_isa() is avx512.
#include "kernels.inc"

LAMINA_OPTIM_DEFINE_RANGES(avx512)
