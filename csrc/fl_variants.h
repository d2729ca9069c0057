/* Compiles the kernels of the template named by FL_TEMPLATE once per SIMD level, for the
 * precision whose public suffix FL_VARIANTS_OF names (_f32 or _f64): for baseline x86-64
 * (FL_SUFFIX is FL_VARIANTS_OF then _base) and, where FL_HAVE_DISPATCH, for AVX2+FMA (_avx2)
 * and AVX-512 (_avx512, F/VL/DQ/BW, still preferring 256-bit vectors). The .c file defines
 * FL_REAL and the precision's math macros first, and then writes the public functions as
 * FL_DISPATCH_AS calls (fl_math.h). No include guard: included once per kernel file and
 * precision. */
#define FL_SUFFIX FL_CONCAT(FL_VARIANTS_OF, _base)
#include FL_TEMPLATE
#undef FL_SUFFIX
#if FL_HAVE_DISPATCH
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define FL_SUFFIX FL_CONCAT(FL_VARIANTS_OF, _avx2)
#include FL_TEMPLATE
#undef FL_SUFFIX
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,prefer-vector-width=256")
#define FL_SUFFIX FL_CONCAT(FL_VARIANTS_OF, _avx512)
#include FL_TEMPLATE
#undef FL_SUFFIX
#pragma GCC pop_options
#endif
