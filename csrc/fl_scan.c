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

/* fl_indices_in_range_i64_base, _avx2 and _avx512 */
#define FL_TEMPLATE "fl_bounds_tmpl.h"
#define FL_VARIANTS_OF _i64
#include "fl_variants.h"
#undef FL_VARIANTS_OF
#undef FL_TEMPLATE

int fl_indices_in_range(fl_index n, const int64_t *x, int64_t limit)
{
    return FL_DISPATCH_AS(fl_indices_in_range, _i64, (n, x, limit));
}

#define FL_REAL double
#define FL_SUFFIX _f64
#include "fl_scan_tmpl.h"
