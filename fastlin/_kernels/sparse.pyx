"""Products of a CSR matrix with a dense one, over threads: X @ W and Xᵀ G for the sparse
logistic and softmax regression's loss and gradient.

Why not SciPy's: its csr_matvecs runs on one core, and an L-BFGS fit on a 100,000 x 50,000
CSR matrix spends most of its time in these two products.

- ``csr_times_dense``: out[i] = Σ_p data[p] W[indices[p]] for the row's entries p. Each output
  row is one thread's, summed in the row's order, so the result does not depend on the thread
  count.
- ``csr_transposed_times_dense``: out = Xᵀ G. Row i of X adds data[p] G[i] into row
  indices[p] of out, so two threads' rows may write one output row. The rows are cut into
  n_threads contiguous ranges; thread t adds into its own block (thread 0 into out, thread
  t > 0 into scratch[t - 1]), and the blocks are summed in thread order afterwards: the result
  depends on the thread count, never on the threads' timing.

A column index outside [0, n_columns) is skipped, so malformed index arrays can never make
either product read or write outside its buffers (fastlin checks them on input anyway).
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memset

ctypedef fused index_t:
    int32_t
    int64_t

cdef extern from *:
    void __builtin_prefetch(const void *p) nogil

# stored entries ahead whose row of W (or of the gradient) is requested early: the rows are
# random reads from a matrix larger than L2, and the loop would otherwise wait on each in turn.
# 100,000 x 50,000 at 0.1%, 20 columns, one thread: X @ W 34.9 -> 26.0 ms, Xᵀ G 29 -> 24 ms
# (8 ahead did as well, 32 worse)
cdef Py_ssize_t AHEAD = 16


def csr_times_dense(const floating[::1] data, const index_t[::1] indices,
                    const index_t[::1] indptr, const floating[:, ::1] W, floating[:, ::1] out,
                    int n_threads):
    """out = X @ W for the CSR matrix X = (data, indices, indptr) with W.shape[0] columns."""
    cdef Py_ssize_t n = out.shape[0], k = out.shape[1], d = W.shape[0], i, p, c, j
    cdef floating v
    if W.shape[1] != k or indptr.shape[0] != n + 1:
        raise ValueError("csr_times_dense: shapes do not match")
    _check_indptr(indptr, data.shape[0], indices.shape[0])
    if n == 0 or k == 0:
        return
    with nogil:
        for i in prange(n, schedule="static", num_threads=max(1, n_threads)):
            for c in range(k):
                out[i, c] = 0
            for p in range(indptr[i], indptr[i + 1]):
                if p + AHEAD < indptr[n]:
                    j = indices[p + AHEAD]
                    if 0 <= j < d:
                        __builtin_prefetch(&W[j, 0])
                j = indices[p]
                if j < 0 or j >= d:
                    continue
                v = data[p]
                for c in range(k):
                    out[i, c] += v * W[j, c]


def csr_transposed_times_dense(const floating[::1] data, const index_t[::1] indices,
                               const index_t[::1] indptr, const floating[:, ::1] G,
                               floating[:, ::1] out, floating[:, :, ::1] scratch,
                               int n_threads):
    """out = Xᵀ G for the CSR matrix X = (data, indices, indptr) with out.shape[0] columns;
    scratch holds n_threads - 1 blocks shaped like out (fewer: fewer threads run)."""
    cdef Py_ssize_t n = G.shape[0], k = G.shape[1], d = out.shape[0], t, i, p, c, j, r0, r1
    cdef int nt = max(1, min(n_threads, <int>scratch.shape[0] + 1, <int>max(n, 1)))
    cdef floating v
    cdef floating *block
    if out.shape[1] != k or indptr.shape[0] != n + 1 or (
            scratch.shape[0] and (scratch.shape[1] != d or scratch.shape[2] != k)):
        raise ValueError("csr_transposed_times_dense: shapes do not match")
    _check_indptr(indptr, data.shape[0], indices.shape[0])
    if d == 0 or k == 0:
        return
    with nogil:
        for t in prange(nt, schedule="static", num_threads=nt):
            block = &out[0, 0] if t == 0 else &scratch[t - 1, 0, 0]
            if d * k:
                memset(block, 0, d * k * sizeof(floating))
            r0 = n * t // nt
            r1 = n * (t + 1) // nt
            for i in range(r0, r1):
                for p in range(indptr[i], indptr[i + 1]):
                    if p + AHEAD < indptr[r1]:
                        j = indices[p + AHEAD]
                        if 0 <= j < d:
                            __builtin_prefetch(&block[j * k])
                    j = indices[p]
                    if j < 0 or j >= d:
                        continue
                    v = data[p]
                    for c in range(k):
                        block[j * k + c] += v * G[i, c]
        for t in range(1, nt):
            for j in range(d):
                for c in range(k):
                    out[j, c] += scratch[t - 1, j, c]


cdef void _check_indptr(const index_t[::1] indptr, Py_ssize_t n_data,
                        Py_ssize_t n_indices) except *:
    """indptr must run from 0 up, never down, to at most the stored entries."""
    cdef Py_ssize_t i, n = indptr.shape[0]
    if n == 0 or indptr[0] != 0 or indptr[n - 1] > min(n_data, n_indices):
        raise ValueError("CSR indptr does not describe the stored entries")
    for i in range(n - 1):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("CSR indptr decreases")

