/* Body of fl_sparse.c, included once per precision, index type and SIMD level (fl_variants.h)
 * with FL_REAL, FL_IDX (int32_t or int64_t), FL_IDX_NAME (_i32 or _i64) and FL_SUFFIX set.
 * The row kernels (fl_sparse_rows_tmpl.h) exist for 32-byte vectors, used from k >= their
 * lanes on, and for single values, for the narrower products (k < 4 in double, < 8 in float).
 * The vectors are 32 bytes at every level: 64-byte ones in the AVX-512 build made X @ W at
 * most ~7% faster at k = 20 and Xᵀ G no faster, and would have sent k < 8 in double to the
 * single values. */
#define FL_FN(name) FL_CONCAT(FL_CONCAT(name, FL_IDX_NAME), FL_SUFFIX)

typedef FL_REAL FL_FN(fl_sparse_vec_) __attribute__((vector_size(32)));
#define FL_VEC_LANES (32 / (fl_index)sizeof(FL_REAL))

/* Where prefetching stops: the rows' last entry, or 0 (none) when the matrix whose rows the
 * entries pick (W, or the block) fits L2 */
FL_INLINE fl_index FL_FN(prefetch_end_)(const FL_IDX *indptr, fl_index r1, fl_index d,
                                        fl_index k)
{
    return d * k * (fl_index)sizeof(FL_REAL) > FL_SPARSE_PREFETCH_FROM ? indptr[r1] : 0;
}

/* Requests the `span` bytes from column c0 of row j of M for the column j of entry
 * p + FL_SPARSE_AHEAD, or of the last entry before ahead_end; nothing when ahead_end is 0 */
FL_INLINE void FL_FN(prefetch_ahead_)(const FL_IDX *indices, fl_index p, fl_index ahead_end,
                                      fl_index d, fl_index k, const FL_REAL *M, fl_index c0,
                                      fl_index span)
{
    if (ahead_end <= 0) return;
    const fl_index j = indices[p + FL_SPARSE_AHEAD < ahead_end ? p + FL_SPARSE_AHEAD
                                                               : ahead_end - 1];
    if ((size_t)j < (size_t)d) fl_sparse_prefetch_(M + j * k + c0, span);
}

#define FL_LANE_T FL_FN(fl_sparse_vec_)
#define FL_LANES FL_VEC_LANES
#define FL_QCAP FL_SPARSE_QMAX
#define FL_W(name) FL_FN(FL_CONCAT(name, vec))
#include "fl_sparse_rows_tmpl.h"
#undef FL_LANE_T
#undef FL_LANES
#undef FL_QCAP
#undef FL_W

#define FL_LANE_T FL_REAL
#define FL_LANES ((fl_index)1)
#define FL_QCAP ((int)FL_VEC_LANES - 1)
#define FL_W(name) FL_FN(FL_CONCAT(name, one))
#include "fl_sparse_rows_tmpl.h"
#undef FL_LANE_T
#undef FL_LANES
#undef FL_QCAP
#undef FL_W

void FL_FN(fl_csr_times_dense)(fl_index r0, fl_index r1, const FL_REAL *data,
                               const FL_IDX *indices, const FL_IDX *indptr, fl_index d,
                               fl_index k, const FL_REAL *W, FL_REAL *out)
{
    if (r0 >= r1 || k <= 0) return;
    if (k >= FL_VEC_LANES)
        FL_FN(times_rows_vec)(r0, r1, data, indices, indptr, d, k, W, out);
    else
        FL_FN(times_rows_one)(r0, r1, data, indices, indptr, d, k, W, out);
}

void FL_FN(fl_csr_transposed_times_dense)(fl_index r0, fl_index r1, const FL_REAL *data,
                                          const FL_IDX *indices, const FL_IDX *indptr,
                                          fl_index d, fl_index k, const FL_REAL *G,
                                          FL_REAL *block)
{
    if (d <= 0 || k <= 0) return;
    memset(block, 0, (size_t)d * (size_t)k * sizeof(FL_REAL));
    if (r0 >= r1) return;
    if (k >= FL_VEC_LANES)
        FL_FN(transposed_rows_vec)(r0, r1, data, indices, indptr, d, k, G, block);
    else
        FL_FN(transposed_rows_one)(r0, r1, data, indices, indptr, d, k, G, block);
}

#undef FL_VEC_LANES
#undef FL_FN
