// The optimizer loops (kernels.inc) compiled with -mavx2 -mfma (an ISA island: CMake gives
// only *_avx2.cpp files these flags). Selected by optim.cpp when active_isa() is avx2.
#include "kernels.inc"

LAMINA_OPTIM_DEFINE_RANGES(avx2)
