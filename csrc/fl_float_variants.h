/* The float kernels of the template named by FL_TEMPLATE per SIMD level (_f32_base, _f32_avx2,
 * _f32_avx512; see fl_variants.h), which the .c file's public _f32 functions call through
 * FL_DISPATCH (fl_math.h). No include guard: included once per kernel file. */
#define FL_VARIANTS_OF _f32
#include "fl_variants.h"
#undef FL_VARIANTS_OF
