/* Row-major products too small for a BLAS call to pay: c[m, n] = alpha * op(a) @ op(b).
 *
 * Why: an OpenBLAS sgemm/sgemv call costs ~60-100 ns before any arithmetic (argument checks,
 * a lock, a version/core check, packing both operands), and a tiny network's step makes five
 * of them: W4's 2-16-1 step spent ~40% of its 1.2 us inside OpenBLAS for ~300 multiply-adds.
 * fastlin/_kernels/_blas.pyx sends a product here when it is small by one of two rules:
 *  - op(a) not transposed (a forward pass X @ W, an input gradient dZ @ W^T): each output row
 *    costs n * k multiply-adds, at most FL_GEMM_SMALL_ROW_MACS, whatever the number of rows m.
 *    The rule ignores m so that a row's result never depends on the batch it came in: predict
 *    on 100 rows returns bitwise what predict on 442 rows returns for those rows.
 *  - op(a) transposed (a weight gradient X^T dZ, a sum over the batch): m * n * k at most
 *    FL_GEMM_SMALL_MACS in all.
 * Everything else goes to BLAS, whose blocked kernels win there.
 *
 * How: op(b) is packed row by row into a stack buffer, each row padded with zeros to whole
 * 8-float (4-double) vectors; then four rows of c at a time, two vectors of columns at a time,
 * are accumulated in registers over p (GCC's vector extension spells the blocking out; left to
 * the auto-vectorizer, a row of c lived in memory between multiply-adds and the loops lost to
 * BLAS). One output column is a set of dot products (a not transposed) or of scaled row sums
 * (a transposed) instead. beta is always 0: c is written, never read. Returns -1, touching
 * nothing, when op(b) would not fit the stack buffer (the caller then uses BLAS), else 0.
 * Every sum runs in a fixed order, so results are the same on every run and for every thread
 * count; a row of X @ W is computed alone, so also whatever rows share its call.
 * bench/small_gemm_crossover.c times these loops against OpenBLAS per call. */
#ifndef FL_GEMM_SMALL_H
#define FL_GEMM_SMALL_H
#include "fl_common.h"

#define FL_GEMM_SMALL_MACS 4096
#define FL_GEMM_SMALL_ROW_MACS 256
/* Values of op(b), padded to whole vectors, that the stack buffer holds: a product qualifies
 * when k * roundup(n, 8) <= FL_GEMM_SMALL_PACK (and k <= it when n == 1). */
#define FL_GEMM_SMALL_PACK 8192

int fl_gemm_small_f32(int trans_a, int trans_b, fl_index m, fl_index n, fl_index k, float alpha,
                      const float *a, fl_index lda, const float *b, fl_index ldb, float *c,
                      fl_index ldc);
/* dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols. Why: OpenBLAS has small-matrix
 * kernels for X @ W and X^T dZ but none for dZ @ W^T (column-major "TN"), which it packs like a
 * large product: a 32x64x64 one ran 2.3x as long as X @ W of the same size. For a W of at most
 * FL_GEMM_SMALL_PACK values, fastlin/_kernels/_blas.pyx transposes W (0.2 us at 64x64) and
 * multiplies without a transpose instead. */
void fl_transpose_f32(fl_index rows, fl_index cols, const float *src, fl_index lds, float *dst,
                      fl_index ldd);
int fl_gemm_small_f64(int trans_a, int trans_b, fl_index m, fl_index n, fl_index k, double alpha,
                      const double *a, fl_index lda, const double *b, fl_index ldb, double *c,
                      fl_index ldc);
#endif
