/* Scans of user data in float and double; see fl_scan.h.
 * The float scan exists in the baseline, AVX2 and AVX-512 builds behind a dispatcher. */
#include <string.h>
#include "fl_math.h"
#include "fl_scan.h"

#define FL_REAL float
#define FL_TEMPLATE "fl_scan_tmpl.h"
#include "fl_float_variants.h"
#undef FL_TEMPLATE
#undef FL_REAL

int fl_all_finite_f32(fl_index n, const float *x)
{
    return FL_DISPATCH(fl_all_finite, (n, x));
}

int fl_all_finite_rows_f32(fl_index n_rows, fl_index d, const float *x, const int64_t *rows)
{
    return FL_DISPATCH(fl_all_finite_rows, (n_rows, d, x, rows));
}

#define FL_REAL double
#define FL_SUFFIX _f64
#include "fl_scan_tmpl.h"
