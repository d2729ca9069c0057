/* The one-pass step of a one-output linear model in float and double; see fl_linear.h.
 * The float kernel exists per SIMD level (fl_variants.h) and once more with 512-bit vectors
 * (fl_wide_variant.h), behind a dispatcher. */
#include <string.h>
#include "fl_math.h"
#include "fl_linear.h"
#include "fl_loss.h"

/* The row sums of eight rows at once by shuffles (fl_linear_tmpl.h) need GCC's or Clang's
 * __builtin_shufflevector; without it each row is summed on its own. */
#if defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define FL_LIN_HAVE_SHUFFLE 1
#endif
#endif
#ifndef FL_LIN_HAVE_SHUFFLE
#define FL_LIN_HAVE_SHUFFLE 0
#endif

#define FL_REAL float
#define FL_PUBLIC _f32
#define FL_TEMPLATE "fl_linear_tmpl.h"
#define FL_LIN_BYTES 32
#define FL_LIN_TREE FL_LIN_HAVE_SHUFFLE
#define FL_LIN_HALVES(a) (a)
#define FL_LIN_ROWS 0
#include "fl_float_variants.h"
#undef FL_LIN_BYTES
#undef FL_LIN_HALVES
#undef FL_LIN_ROWS
/* once more with 512-bit vectors where AVX-512 is full width: 16 lanes, each row's two halves
 * added first */
#define FL_LIN_BYTES 64
#define FL_LIN_HALVES(a)                                                                          \
    (__builtin_shufflevector((a), (a), 0, 1, 2, 3, 4, 5, 6, 7) +                                 \
     __builtin_shufflevector((a), (a), 8, 9, 10, 11, 12, 13, 14, 15))
/* and linear regression one row at a time in registers, rows of up to 7 vectors (112 floats:
 * the row, w and two sets of sums fill the 32 registers) */
#define FL_LIN_ROWS (7 * FL_LIN_HAVE_SHUFFLE)
#define FL_VARIANTS_OF _f32
#include "fl_wide_variant.h"
#undef FL_VARIANTS_OF
#undef FL_LIN_ROWS
#undef FL_LIN_BYTES
#undef FL_LIN_HALVES
#undef FL_LIN_TREE
#undef FL_TEMPLATE
#undef FL_REAL
#undef FL_PUBLIC

double fl_linear1_step_f32(fl_index m, fl_index d, const float *X, const int64_t *rows,
                           fl_index next, const float *w, const float *b, const float *t,
                           const float *sw, const float *pw, int bce, double scale, float *dw,
                           float *db, double *correct)
{
#if FL_HAVE_DISPATCH
    if (d >= 16 && fl_full_width_avx512()) /* narrower rows: the 8-lane kernel's vector path */
        return fl_linear1_step_f32_avx512w(m, d, X, rows, next, w, b, t, sw, pw, bce, scale, dw,
                                           db, correct);
#endif
    return FL_DISPATCH(fl_linear1_step,
                       (m, d, X, rows, next, w, b, t, sw, pw, bce, scale, dw, db, correct));
}

#define FL_REAL double
#define FL_SUFFIX _f64
#define FL_PUBLIC _f64
#define FL_LIN_BYTES 32
#define FL_LIN_TREE 0
#define FL_LIN_ROWS 0
#include "fl_linear_tmpl.h"
