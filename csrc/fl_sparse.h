/* Products of a CSR matrix X (n x d; data, indices, indptr) with dense row-major matrices, for
 * the sparse logistic and softmax regression's loss and gradient. Each call handles the rows
 * [r0, r1) of X, so the caller can hand contiguous row ranges to threads.
 *
 * fl_csr_times_dense: rows r0..r1-1 of out (n x k) = X W for W (d x k). Each out[i, c] is
 *   0 + data[p] W[j, c] + ... over the row's entries p in their stored order, one rounding per
 *   multiplication and per addition (never fused), whatever the SIMD level.
 * fl_csr_transposed_times_dense: block (d x k) = X[r0:r1]^T G[r0:r1] for G (n x k), overwritten:
 *   block[j, c] += data[p] G[i, c] over the rows i and their entries p in stored order, from 0.
 *
 * An entry whose column index lies outside [0, d) is skipped. indptr must be valid for the rows
 * (indptr[r0] <= ... <= indptr[r1], all within data and indices): the caller checks it. */
#ifndef FL_SPARSE_H
#define FL_SPARSE_H
#include "fl_common.h"

/* Stored entries ahead whose row of W (or of the block) is requested early: the rows are random
 * reads from a matrix larger than L2, and the loop would otherwise wait on each in turn.
 * 80,000 x 50,000 at 0.1%, k = 20 in double, one thread: X @ W 12.6 -> 9.9 ms; 24 ahead did no
 * better, 32 worse. (The memoryview loops before: 100,000 x 50,000, X @ W 34.9 -> 26.0 ms.) */
#define FL_SPARSE_AHEAD 16

#define FL_SPARSE_DECLS(T, I, S)                                                                  \
    void fl_csr_times_dense##S(fl_index r0, fl_index r1, const T *data, const I *indices,        \
                               const I *indptr, fl_index d, fl_index k, const T *W, T *out);     \
    void fl_csr_transposed_times_dense##S(fl_index r0, fl_index r1, const T *data,               \
                                          const I *indices, const I *indptr, fl_index d,         \
                                          fl_index k, const T *G, T *block);

FL_SPARSE_DECLS(float, int32_t, _i32_f32)
FL_SPARSE_DECLS(float, int64_t, _i64_f32)
FL_SPARSE_DECLS(double, int32_t, _i32_f64)
FL_SPARSE_DECLS(double, int64_t, _i64_f64)
#undef FL_SPARSE_DECLS
#endif
