/* Compiles the float kernels of the template named by FL_TEMPLATE for baseline x86-64 (suffix
 * _f32_base) and, where FL_HAVE_DISPATCH, for AVX2+FMA (_f32_avx2) and AVX-512 (_f32_avx512,
 * F/VL/DQ/BW, still preferring 256-bit vectors). The .c file
 * defines FL_REAL and the precision's math macros first, and then writes the public _f32
 * functions as FL_DISPATCH calls (fl_math.h). No include guard: included once per kernel file. */
#define FL_SUFFIX _f32_base
#include FL_TEMPLATE
#undef FL_SUFFIX
#if FL_HAVE_DISPATCH
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define FL_SUFFIX _f32_avx2
#include FL_TEMPLATE
#undef FL_SUFFIX
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,prefer-vector-width=256")
#define FL_SUFFIX _f32_avx512
#include FL_TEMPLATE
#undef FL_SUFFIX
#pragma GCC pop_options
#endif
