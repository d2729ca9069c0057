"""The CSR products of fastlin/_kernels/sparse.pyx (X @ W and Xᵀ G over threads, in C in
csrc/fl_sparse.c) against float64 NumPy on the densified matrix and against SciPy's products:
both index widths, both float types, empty rows and columns, one and several threads.
Tolerance: each output is a sum of at most a row's (or a column's) stored products, at most
~60 here, so its rounding error stays below 60 ulp of Σ|terms|: 1e-5 (float32, ulp 6e-8) and
1e-12 (float64, ulp 1.1e-16) relative to Σ|terms|.

They are also checked bit for bit against the summation order they promise, replayed in NumPy
in the matrix's dtype (a product, then a sum, each rounded: the kernels never fuse them), for
every layout of the C kernels' column blocks and their tails (k = 1 to 130), at every SIMD
level (tests/test_build.py runs this file at each). Malformed index arrays never make them read
or write out of bounds."""
import numpy as np
import pytest
import scipy.sparse as sp

from fastlin._kernels import sparse as kernels


def _csr(n, d, density, dtype, index, seed=0):
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    X.data = (X.data - 0.5).astype(dtype)
    X = sp.csr_matrix((X.data.astype(dtype), X.indices.astype(index), X.indptr.astype(index)),
                      shape=(n, d))
    X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
    return X


def _close(got, a, b):
    exact = a @ b
    scale = np.abs(a) @ np.abs(b) + 1e-300
    rel = 1e-5 if got.dtype == np.float32 else 1e-12
    assert np.all(np.abs(got - exact) <= rel * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("shape", [(200, 150, 5), (7, 1000, 1), (1, 30, 4), (300, 3, 20)])
def test_products_match_dense_numpy(dtype, index, threads, shape):
    n, d, k = shape
    X = _csr(n, d, 0.05, dtype, index)
    r = min(3, n - 1)
    X.data[X.indptr[r]:X.indptr[r + 1]] = 0  # an empty row
    X.eliminate_zeros()
    X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
    dense = X.toarray().astype(np.float64)
    rng = np.random.default_rng(1)
    W = rng.standard_normal((d, k)).astype(dtype)
    G = rng.standard_normal((n, k)).astype(dtype)
    out = np.full((n, k), np.nan, dtype)
    kernels.csr_times_dense(X.data, X.indices, X.indptr, W, out, threads)
    _close(out, dense, W.astype(np.float64))
    grad = np.full((d, k), np.nan, dtype)
    scratch = np.empty((threads - 1, d, k), dtype)
    kernels.csr_transposed_times_dense(X.data, X.indices, X.indptr, G, grad, scratch, threads)
    _close(grad, dense.T, G.astype(np.float64))


def test_the_gradient_depends_on_the_thread_count_only():
    X = _csr(2000, 50, 0.2, np.float32, np.int32)
    G = np.random.default_rng(2).standard_normal((2000, 8)).astype(np.float32)
    runs = []
    for _ in range(3):
        out = np.empty((50, 8), np.float32)
        kernels.csr_transposed_times_dense(X.data, X.indices, X.indptr, G, out,
                                           np.empty((1, 50, 8), np.float32), 2)
        runs.append(out)
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])


def test_malformed_indices_stay_in_bounds():
    data = np.ones(4)
    indptr = np.array([0, 2, 4], np.int32)
    indices = np.array([0, 99, -5, 1], np.int32)  # two outside [0, 2)
    W = np.array([[1.0], [10.0]])
    out = np.empty((2, 1))
    kernels.csr_times_dense(data, indices, indptr, W, out, 2)
    np.testing.assert_array_equal(out[:, 0], [1.0, 10.0])  # the bad entries are skipped
    grad = np.empty((2, 1))
    kernels.csr_transposed_times_dense(data, indices, indptr, np.ones((2, 1)), grad,
                                       np.empty((1, 2, 1)), 2)
    np.testing.assert_array_equal(grad[:, 0], [1.0, 1.0])
    for bad in ([1, 2, 4], [0, 3, 2], [0, 2, 5]):
        with pytest.raises(ValueError, match="indptr"):
            kernels.csr_times_dense(data, indices, np.array(bad, np.int32), W, out, 1)
    with pytest.raises(ValueError, match="shapes"):
        kernels.csr_times_dense(data, indices, indptr, W, np.empty((3, 1)), 1)
    with pytest.raises(ValueError, match="shapes"):
        kernels.csr_transposed_times_dense(data, indices, indptr, np.ones((2, 1)), grad,
                                           np.empty((1, 3, 1)), 2)


def _ordered_times(X, W):
    """X @ W summed as the kernel promises: out[i] = 0 + v_p W[j_p] + ..., the row's entries in
    stored order, columns outside [0, d) skipped, every operation rounded in W's dtype."""
    n, d = X.shape[0], W.shape[0]
    out = np.zeros((n, W.shape[1]), W.dtype)
    lengths = np.diff(X.indptr)
    for t in range(int(lengths.max(initial=0))):
        rows = np.flatnonzero(lengths > t)
        p = X.indptr[rows] + t
        j = X.indices[p].astype(np.int64)
        keep = (j >= 0) & (j < d)
        out[rows[keep]] += X.data[p[keep], None] * W[j[keep]]
    return out


def _ordered_transposed(X, G, d, threads):
    """Xᵀ G as the kernel promises: thread t's contiguous rows n·t // T to n·(t+1) // T add
    data[p] G[i] into a block of zeros in row, then stored, order, and the blocks are summed in
    thread order; columns outside [0, d) skipped, every operation rounded in G's dtype."""
    n = G.shape[0]
    out = None
    for t in range(threads):
        r0, r1 = n * t // threads, n * (t + 1) // threads
        block = np.zeros((d, G.shape[1]), G.dtype)
        p0, p1 = X.indptr[r0], X.indptr[r1]
        rows = np.repeat(np.arange(r0, r1), np.diff(X.indptr[r0:r1 + 1]))
        j = X.indices[p0:p1].astype(np.int64)
        keep = (j >= 0) & (j < d)
        np.add.at(block, j[keep], X.data[p0:p1][keep, None] * G[rows[keep]])
        out = block if out is None else out + block
    return out


def _awkward_csr(n, d, density, dtype, index, seed):
    """A CSR matrix with empty rows (the first, the last, a run in the middle), a row holding one
    column twice, and a few column indices outside [0, d), which the kernels skip."""
    rng = np.random.default_rng(seed)
    X = _csr(n, d, density, dtype, index, seed)
    lengths = np.diff(X.indptr)
    for r in (0, n - 1, *range(n // 2, n // 2 + 3)):
        lengths[r] = 0
    keep = np.repeat(lengths > 0, np.diff(X.indptr))
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(index)
    indices, data = X.indices[keep].copy(), X.data[keep].copy()
    first = int(np.flatnonzero(lengths >= 2)[0])
    indices[indptr[first] + 1] = indices[indptr[first]]  # one column twice in a row
    bad = rng.choice(indices.size, size=5, replace=False)
    indices[bad] = np.array([-1, d, d + 7, -(2 ** 30), 2 ** 30], index)
    return sp.csr_matrix((data, indices, indptr), shape=(n, d))


def _run(X, W, G, threads):
    dtype = W.dtype
    n, d, k = X.shape[0], X.shape[1], W.shape[1]
    out = np.full((n, k), np.nan, dtype)
    kernels.csr_times_dense(X.data, X.indices, X.indptr, W, out, threads)
    grad = np.full((d, k), np.nan, dtype)
    scratch = np.full((threads - 1, d, k), np.nan, dtype)
    kernels.csr_transposed_times_dense(X.data, X.indices, X.indptr, G, grad, scratch, threads)
    return out, grad


# every column layout of csrc/fl_sparse_rows_tmpl.h: single values below one vector (4 doubles,
# 8 floats), whole vectors, a last vector overlapping the one before, two and three panels of
# at most 8 vectors (beyond 32 doubles, 64 floats)
WIDTHS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 20, 31, 32, 33, 36, 63, 64, 65, 70, 130]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("k", WIDTHS)
def test_every_column_layout_is_the_promised_sum_bit_for_bit(dtype, index, k):
    n, d = 150, 90
    X = _awkward_csr(n, d, 0.15, dtype, index, seed=k)
    rng = np.random.default_rng(k)
    W = rng.standard_normal((d, k)).astype(dtype)
    G = rng.standard_normal((n, k)).astype(dtype)
    for threads in (1, 3):
        out, grad = _run(X, W, G, threads)
        np.testing.assert_array_equal(out, _ordered_times(X, W))
        np.testing.assert_array_equal(grad, _ordered_transposed(X, G, d, threads))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("k", [1, 7, 8, 9, 16, 20, 33, 64, 70])
def test_products_match_scipy(dtype, index, k):
    """SciPy's X @ W and X.T @ G in float64, on the matrix without its out-of-range entries."""
    n, d = 120, 100
    X = _awkward_csr(n, d, 0.2, dtype, index, seed=100 + k)
    rng = np.random.default_rng(k)
    W = rng.standard_normal((d, k)).astype(dtype)
    G = rng.standard_normal((n, k)).astype(dtype)
    valid = (X.indices >= 0) & (X.indices < d)
    values, columns = np.where(valid, X.data, 0).astype(np.float64), np.where(valid, X.indices, 0)
    # built from copies and without abs(), which would sum the duplicate entries in place
    clean = sp.csr_matrix((values, columns, X.indptr.copy()), shape=(n, d))
    size = sp.csr_matrix((np.abs(values), columns, X.indptr.copy()), shape=(n, d))
    W64, G64 = W.astype(np.float64), G.astype(np.float64)
    rel = 1e-5 if dtype == np.float32 else 1e-12
    for threads in (1, 2):
        out, grad = _run(X, W, G, threads)
        assert np.all(np.abs(out - clean @ W64) <= rel * (size @ np.abs(W64)))
        assert np.all(np.abs(grad - clean.T @ G64) <= rel * (size.T @ np.abs(G64)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [2, 20, 40])
def test_products_that_prefetch_are_the_promised_sum(dtype, k):
    """W and the gradient of more than 1 MB (k = 2: of less), from which the kernels request
    rows ahead of the entries that need them."""
    n, d = 400, 20_000
    X = _awkward_csr(n, d, 0.002, dtype, np.int32, seed=k)
    rng = np.random.default_rng(k)
    W = rng.standard_normal((d, k)).astype(dtype)
    G = rng.standard_normal((n, k)).astype(dtype)
    assert (W.nbytes > 1 << 20) == (k > 2)
    out, grad = _run(X, W, G, 2)
    np.testing.assert_array_equal(out, _ordered_times(X, W))
    np.testing.assert_array_equal(grad, _ordered_transposed(X, G, d, 2))


def test_the_forward_product_does_not_depend_on_the_thread_count():
    """Each output row is one thread's whichever range it falls in; rows of very different
    lengths move the cuts between the ranges, which follow the entries."""
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 3, 500)
    lengths[::50] = 400
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = rng.integers(0, 600, indptr[-1]).astype(np.int64)
    data = rng.standard_normal(indptr[-1])
    W = rng.standard_normal((600, 11))
    runs = []
    for threads in (1, 2, 3, 4, 7, 1000):
        out = np.full((500, 11), np.nan)
        kernels.csr_times_dense(data, indices, indptr, W, out, threads)
        runs.append(out)
    for out in runs[1:]:
        np.testing.assert_array_equal(out, runs[0])


def test_empty_shapes():
    """No entries, no columns, no rows or no outputs: the outputs that exist are zero."""
    indptr = np.zeros(4, np.int32)
    no_data, no_indices = np.zeros(0), np.zeros(0, np.int32)
    out = np.full((3, 2), np.nan)
    kernels.csr_times_dense(no_data, no_indices, indptr, np.zeros((0, 2)), out, 2)
    np.testing.assert_array_equal(out, 0)
    kernels.csr_times_dense(no_data, no_indices, indptr, np.zeros((5, 0)), np.zeros((3, 0)), 2)
    kernels.csr_times_dense(no_data, no_indices, np.zeros(1, np.int32), np.zeros((5, 2)),
                            np.zeros((0, 2)), 2)
    grad = np.full((5, 2), np.nan)
    kernels.csr_transposed_times_dense(no_data, no_indices, np.zeros(1, np.int32),
                                       np.zeros((0, 2)), grad, np.empty((1, 5, 2)), 2)
    np.testing.assert_array_equal(grad, 0)
    grad = np.full((5, 2), np.nan)
    kernels.csr_transposed_times_dense(no_data, no_indices, indptr, np.ones((3, 2)), grad,
                                       np.full((2, 5, 2), np.nan), 3)
    np.testing.assert_array_equal(grad, 0)
    kernels.csr_transposed_times_dense(no_data, no_indices, indptr, np.zeros((3, 2)),
                                       np.zeros((0, 2)), np.empty((0, 0, 2)), 1)
