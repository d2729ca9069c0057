/* CSR times dense products in float and double, with 32- and 64-bit indices; see fl_sparse.h.
 * Every variant exists per SIMD level (fl_variants.h) behind a dispatcher. */
#include <string.h>
#include "fl_math.h"
#include "fl_sparse.h"

/* Requests the first and the last cache line of the `bytes` bytes from p. The prefetchers bring
 * the adjacent lines along: also requesting each line between made X @ W slower while W fits
 * L3 (80,000 x 50,000 at 0.1%, k = 20: 8.6 -> 10.3 ms), and helped only once it did not. */
FL_INLINE void fl_sparse_prefetch_(const void *p, fl_index bytes)
{
    FL_PREFETCH((const char *)p);
    FL_PREFETCH((const char *)p + bytes - 1);
}

#define FL_SPARSE_QMAX 8  /* lane values per panel: the row kernels' switch has 8 cases */
#define FL_SPARSE_ROWS 64 /* rows per block: a wide product's panels reread its entries from L1 */
/* Prefetching pays only when the rows it requests are not in L2 already: with W (or the block)
 * of at most 1 MB, which k = 1 or 2 over 50,000 columns are, the requests alone cost 15-20% */
#define FL_SPARSE_PREFETCH_FROM ((fl_index)1 << 20)

/* The number of panels of k columns, in lane values of `lanes` columns: as few as hold at most
 * FL_SPARSE_QMAX lane values each. */
FL_INLINE fl_index fl_sparse_panels_(fl_index k, fl_index lanes)
{
    const fl_index nvec = (k + lanes - 1) / lanes;
    return (nvec + FL_SPARSE_QMAX - 1) / FL_SPARSE_QMAX;
}

/* Panel pn of np, for k >= lanes: the columns from *c0 to *c0 + *tail + lanes, in the lane
 * values returned, the last one *tail columns after *c0. The panels share the ceil(k / lanes)
 * lane values out as evenly as they go; all but the last are whole lane values, and the last
 * ends at column k with at least two lane values (np > 1 means more than 8 of them, so at least
 * 4 per panel) or is exactly one, so its last lane value never reaches into another panel. */
FL_INLINE int fl_sparse_panel_(fl_index k, fl_index lanes, fl_index pn, fl_index np,
                               fl_index *c0, fl_index *tail)
{
    const fl_index nvec = (k + lanes - 1) / lanes, v0 = pn * nvec / np, v1 = (pn + 1) * nvec / np;
    *c0 = lanes * v0;
    *tail = (pn + 1 < np ? lanes * v1 : k) - lanes - *c0;
    return (int)(v1 - v0);
}

/* Each output element is a sum of separately rounded products, as in a plain loop: a fused
 * multiply-add would round once where the baseline build rounds twice, and the results would
 * depend on the CPU. Fusing saved 3-10% of X @ W's time here and nothing of Xᵀ G's: gathering
 * the rows, not the arithmetic, sets the pace. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#elif defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define FL_TEMPLATE "fl_sparse_tmpl.h"
#define FL_REAL float
#define FL_VARIANTS_OF _f32
#include "fl_sparse_indices.h"
#undef FL_REAL
#undef FL_VARIANTS_OF
#define FL_REAL double
#define FL_VARIANTS_OF _f64
#include "fl_sparse_indices.h"
#undef FL_REAL
#undef FL_VARIANTS_OF
#undef FL_TEMPLATE
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#define FL_SPARSE_PUBLIC(T, I, IS, S)                                                             \
    void fl_csr_times_dense##IS##S(fl_index r0, fl_index r1, const T *data, const I *indices,    \
                                   const I *indptr, fl_index d, fl_index k, const T *W, T *out)  \
    {                                                                                            \
        FL_DISPATCH_AS(fl_csr_times_dense##IS, S, (r0, r1, data, indices, indptr, d, k, W, out)); \
    }                                                                                            \
    void fl_csr_transposed_times_dense##IS##S(fl_index r0, fl_index r1, const T *data,           \
                                              const I *indices, const I *indptr, fl_index d,     \
                                              fl_index k, const T *G, T *block)                  \
    {                                                                                            \
        FL_DISPATCH_AS(fl_csr_transposed_times_dense##IS, S,                                     \
                       (r0, r1, data, indices, indptr, d, k, G, block));                         \
    }

FL_SPARSE_PUBLIC(float, int32_t, _i32, _f32)
FL_SPARSE_PUBLIC(float, int64_t, _i64, _f32)
FL_SPARSE_PUBLIC(double, int32_t, _i32, _f64)
FL_SPARSE_PUBLIC(double, int64_t, _i64, _f64)
