/* Compiles the kernels of the template named by FL_TEMPLATE once more, for 512-bit vectors
 * (suffix FL_VARIANTS_OF then _avx512w), where FL_HAVE_DISPATCH: the variant that CPUs with
 * full-width AVX-512 units take (fl_full_width_avx512 and FL_DISPATCH_WIDE_AS, fl_math.h) for
 * kernels bound by division, square root or a long polynomial. No include guard: included once
 * per kernel file and precision, after fl_variants.h. */
#if FL_HAVE_DISPATCH
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,prefer-vector-width=512")
#define FL_SUFFIX FL_CONCAT(FL_VARIANTS_OF, _avx512w)
#include FL_TEMPLATE
#undef FL_SUFFIX
#pragma GCC pop_options
#endif
