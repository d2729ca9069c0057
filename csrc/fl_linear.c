/* The one-pass step of a one-output linear model in float and double; see fl_linear.h.
 * The float kernel exists twice (baseline and AVX2+FMA, see fl_math.h) behind a dispatcher. */
#include <string.h>
#include "fl_math.h"
#include "fl_linear.h"
#include "fl_loss.h"

#if defined(__GNUC__)
#define FL_PREFETCH(p) __builtin_prefetch((p))
#else
#define FL_PREFETCH(p) ((void)(p))
#endif

#define FL_REAL float
#define FL_PUBLIC _f32
#define FL_TEMPLATE "fl_linear_tmpl.h"
#include "fl_float_variants.h"
#undef FL_TEMPLATE
#undef FL_REAL
#undef FL_PUBLIC

double fl_linear1_step_f32(fl_index m, fl_index d, const float *X, const int64_t *rows,
                           const float *w, const float *b, const float *t, const float *sw,
                           const float *pw, int bce, double scale, float *dw, float *db,
                           double *correct)
{
    return FL_DISPATCH(fl_linear1_step, (m, d, X, rows, w, b, t, sw, pw, bce, scale, dw, db, correct));
}

#define FL_REAL double
#define FL_SUFFIX _f64
#define FL_PUBLIC _f64
#include "fl_linear_tmpl.h"
