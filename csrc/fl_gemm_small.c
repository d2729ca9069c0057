/* Small row-major products in float and double; see fl_gemm_small.h.
 * The float kernel exists per SIMD level (fl_float_variants.h) behind a dispatcher. */
#include <string.h>
#include "fl_math.h"
#include "fl_gemm_small.h"

#define FL_REAL float
#define FL_TEMPLATE "fl_gemm_small_tmpl.h"
#include "fl_float_variants.h"
#undef FL_TEMPLATE
#undef FL_REAL

int fl_gemm_small_f32(int trans_a, int trans_b, fl_index m, fl_index n, fl_index k, float alpha,
                       const float *a, fl_index lda, const float *b, fl_index ldb, float *c,
                       fl_index ldc)
{
    return FL_DISPATCH(fl_gemm_small, (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc));
}

#define FL_TEMPLATE "fl_transpose_tmpl.h"
#include "fl_float_variants.h"
#undef FL_TEMPLATE

void fl_transpose_f32(fl_index rows, fl_index cols, const float *src, fl_index lds, float *dst,
                      fl_index ldd)
{
    FL_DISPATCH(fl_transpose, (rows, cols, src, lds, dst, ldd));
}

#define FL_REAL double
#define FL_SUFFIX _f64
#include "fl_gemm_small_tmpl.h"
