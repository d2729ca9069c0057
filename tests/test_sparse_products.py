"""The CSR products of fastlin/_kernels/sparse.pyx (X @ W and Xᵀ G over threads) against
float64 NumPy on the densified matrix: both index widths, both float types, empty rows and
columns, one and several threads. Tolerance: each output is a sum of at most a row's (or a
column's) stored products, so 1e-5 (float32) and 1e-12 (float64) relative to Σ|terms|.
Malformed index arrays never make them read or write out of bounds."""
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
