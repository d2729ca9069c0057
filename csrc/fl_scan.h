/* Whole-array scans over user data.
 *
 * fl_all_finite: 1 when every one of the n values is finite. NumPy's isfinite(X).all() builds a
 * boolean array a quarter the size of a float32 X (an eighth of a float64 one) to answer
 * that; fit runs this check on all of X, so that temporary set fit's peak memory. This reads
 * X once and allocates nothing. */
#ifndef FL_SCAN_H
#define FL_SCAN_H
#include "fl_common.h"

int fl_all_finite_f32(fl_index n, const float *x);
int fl_all_finite_f64(fl_index n, const double *x);
#endif
