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

/* fl_all_finite_rows: the same over the rows rows[0..n_rows) of a row-major n x d matrix, read
 * in that order, each row asked for FL_SCAN_AHEAD rows before it is read: reading a shuffled
 * epoch's rows as fit reads them, the benchmarks' memory floor of a shuffled fit (random rows
 * from L3 or memory cost more than a stream). Every rows[i] must lie in [0, n). */
#define FL_SCAN_AHEAD 8
int fl_all_finite_rows_f32(fl_index n_rows, fl_index d, const float *x, const int64_t *rows);
int fl_all_finite_rows_f64(fl_index n_rows, fl_index d, const double *x, const int64_t *rows);

/* 1 when every x[i] of x[0..n) lies in [0, limit): the row indices a caller hands the training
 * loop, checked before any is used. */
int fl_indices_in_range(fl_index n, const int64_t *x, int64_t limit);
#endif
