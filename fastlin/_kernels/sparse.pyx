"""Products of a CSR matrix with a dense one, over threads: X @ W and Xᵀ G for the sparse
logistic and softmax regression's loss and gradient.

Why not SciPy's: its csr_matvecs runs on one core, and an L-BFGS fit on a 100,000 x 50,000
CSR matrix spends much of its time in these two products.

The arithmetic is in C (csrc/fl_sparse.c, one variant per SIMD level): a row's k outputs (or
the row of G it scatters) stay in vector registers while its stored entries stream past,
where a loop over memoryviews went through memory for every entry and column. This module
cuts the rows into one range per thread and checks what Python hands in.

- ``csr_times_dense``: out[i] = Σ_p data[p] W[indices[p]] for the row's entries p. Each output
  row is one thread's, summed in the row's order, so the result does not depend on the thread
  count; the threads' ranges hold about as many entries each.
- ``csr_transposed_times_dense``: out = Xᵀ G. Row i of X adds data[p] G[i] into row
  indices[p] of out, so two threads' rows may write one output row. The rows are cut into
  n_threads contiguous ranges of equal length; thread t adds into its own block (thread 0 into
  out, thread t > 0 into scratch[t - 1]), and the blocks are summed in thread order afterwards
  (each thread summing one range of out's elements): the result depends on the thread count, never
  on the threads' timing.

Every output element is the same sequence of roundings at every SIMD level and as in a plain
loop over the entries in stored order (a multiplication, then an addition; never fused), so
results are the same bits on every CPU. A column index outside [0, n_columns) is skipped, so
malformed index arrays can never make either product read or write outside its buffers
(fastlin checks them on input anyway).
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t

from fastlin._kernels._csrc cimport (
    fl_csr_times_dense_i32_f32, fl_csr_times_dense_i64_f32, fl_csr_times_dense_i32_f64,
    fl_csr_times_dense_i64_f64, fl_csr_transposed_times_dense_i32_f32,
    fl_csr_transposed_times_dense_i64_f32, fl_csr_transposed_times_dense_i32_f64,
    fl_csr_transposed_times_dense_i64_f64)

ctypedef fused index_t:
    int32_t
    int64_t


def csr_times_dense(const floating[::1] data, const index_t[::1] indices,
                    const index_t[::1] indptr, const floating[:, ::1] W, floating[:, ::1] out,
                    int n_threads):
    """out = X @ W for the CSR matrix X = (data, indices, indptr) with W.shape[0] columns."""
    cdef Py_ssize_t n = out.shape[0], k = out.shape[1], d = W.shape[0]
    cdef int nt = <int>max(1, min(<Py_ssize_t>n_threads, n)), t
    if W.shape[1] != k or indptr.shape[0] != n + 1:
        raise ValueError("csr_times_dense: shapes do not match")
    _check_indptr(indptr, data.shape[0], indices.shape[0])
    if n == 0 or k == 0:
        return
    cdef const floating *x = &data[0] if data.shape[0] else NULL
    cdef const index_t *ind = &indices[0] if indices.shape[0] else NULL
    cdef const floating *w = &W[0, 0] if d else NULL
    with nogil:
        for t in prange(nt, schedule="static", num_threads=nt):
            _times(_balanced_row(&indptr[0], n, t, nt), _balanced_row(&indptr[0], n, t + 1, nt),
                   x, ind, &indptr[0], d, k, w, &out[0, 0])


def csr_transposed_times_dense(const floating[::1] data, const index_t[::1] indices,
                               const index_t[::1] indptr, const floating[:, ::1] G,
                               floating[:, ::1] out, floating[:, :, ::1] scratch,
                               int n_threads):
    """out = Xᵀ G for the CSR matrix X = (data, indices, indptr) with out.shape[0] columns;
    scratch holds n_threads - 1 blocks shaped like out (fewer: fewer threads run)."""
    cdef Py_ssize_t n = G.shape[0], k = G.shape[1], d = out.shape[0], size = d * k, e0, e1
    cdef int nt = max(1, min(n_threads, <int>scratch.shape[0] + 1, <int>max(n, 1))), t, s
    if out.shape[1] != k or indptr.shape[0] != n + 1 or (
            scratch.shape[0] and (scratch.shape[1] != d or scratch.shape[2] != k)):
        raise ValueError("csr_transposed_times_dense: shapes do not match")
    _check_indptr(indptr, data.shape[0], indices.shape[0])
    if d == 0 or k == 0:
        return
    cdef const floating *x = &data[0] if data.shape[0] else NULL
    cdef const index_t *ind = &indices[0] if indices.shape[0] else NULL
    cdef const floating *g = &G[0, 0] if n else NULL
    cdef floating *first = &out[0, 0]
    cdef floating *blocks = &scratch[0, 0, 0] if nt > 1 else NULL
    with nogil:
        for t in prange(nt, schedule="static", num_threads=nt):
            _transposed(n * t // nt, n * (t + 1) // nt, x, ind, &indptr[0], d, k, g,
                        first if t == 0 else blocks + (t - 1) * size)
        if nt > 1:  # each thread adds the blocks into its range of out, in thread order
            for t in prange(nt, schedule="static", num_threads=nt):
                e0 = size * t // nt
                e1 = size * (t + 1) // nt
                for s in range(1, nt):
                    _add(first + e0, blocks + (s - 1) * size + e0, e1 - e0)


cdef inline void _times(Py_ssize_t r0, Py_ssize_t r1, const floating *data,
                        const index_t *indices, const index_t *indptr, Py_ssize_t d,
                        Py_ssize_t k, const floating *W, floating *out) noexcept nogil:
    if floating is float:
        if index_t is int32_t:
            fl_csr_times_dense_i32_f32(r0, r1, data, indices, indptr, d, k, W, out)
        else:
            fl_csr_times_dense_i64_f32(r0, r1, data, indices, indptr, d, k, W, out)
    else:
        if index_t is int32_t:
            fl_csr_times_dense_i32_f64(r0, r1, data, indices, indptr, d, k, W, out)
        else:
            fl_csr_times_dense_i64_f64(r0, r1, data, indices, indptr, d, k, W, out)


cdef inline void _transposed(Py_ssize_t r0, Py_ssize_t r1, const floating *data,
                             const index_t *indices, const index_t *indptr, Py_ssize_t d,
                             Py_ssize_t k, const floating *G, floating *block) noexcept nogil:
    if floating is float:
        if index_t is int32_t:
            fl_csr_transposed_times_dense_i32_f32(r0, r1, data, indices, indptr, d, k, G, block)
        else:
            fl_csr_transposed_times_dense_i64_f32(r0, r1, data, indices, indptr, d, k, G, block)
    else:
        if index_t is int32_t:
            fl_csr_transposed_times_dense_i32_f64(r0, r1, data, indices, indptr, d, k, G, block)
        else:
            fl_csr_transposed_times_dense_i64_f64(r0, r1, data, indices, indptr, d, k, G, block)


cdef inline void _add(floating *dst, const floating *src, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t q
    for q in range(size):
        dst[q] += src[q]


cdef Py_ssize_t _balanced_row(const index_t *indptr, Py_ssize_t n, int t, int nt) noexcept nogil:
    """Where thread t of nt starts: the first row r with indptr[r] + r, the entries and rows
    before it, at least t / nt of the whole (a row costs about one entry beyond its own)."""
    cdef Py_ssize_t lo = 0, hi = n, mid
    cdef double goal = (<double>indptr[n] + n) * t / nt
    if t >= nt:
        return n
    while lo < hi:
        mid = (lo + hi) // 2
        if indptr[mid] + mid < goal:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef void _check_indptr(const index_t[::1] indptr, Py_ssize_t n_data,
                        Py_ssize_t n_indices) except *:
    """indptr must run from 0 up, never down, to at most the stored entries."""
    cdef Py_ssize_t i, n = indptr.shape[0]
    if n == 0 or indptr[0] != 0 or indptr[n - 1] > min(n_data, n_indices):
        raise ValueError("CSR indptr does not describe the stored entries")
    for i in range(n - 1):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("CSR indptr decreases")
