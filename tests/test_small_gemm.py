"""The small-product loops (csrc/fl_gemm_small.h) against float64 NumPy and against BLAS.

Small products skip BLAS: X @ W and dZ @ Wᵀ when an output row costs at most 256
multiply-adds (at any batch size), Xᵀ dZ when it costs at most 4096 in all. Every layout the kernels use
goes through them here: X @ W (forward), Xᵀ dZ (weight gradient), dZ Wᵀ (input gradient),
with one output column, one output row, one inner term, shapes that are not multiples of the
vector width, and the largest qualifying sizes. Tolerance: each output is a sum of k float
products; float32 sums of up to 4096 terms of unit scale stay within ~k·2⁻²⁴ relative of the
exact value, so 1e-5 (float32) and 1e-12 (float64) relative to Σ|terms| leave margin without
letting a wrong index or a missed term through (those are off by O(1)).
"""
import itertools

import numpy as np
import pytest

from fastlin._kernels import _blas, dense

ROW_LIMIT, TOTAL_LIMIT = _blas.small_gemm_limits()

# (rows n, outputs m, inputs k): every layout of each runs through the small loops in the
# forward pass (m * k <= 256 per row) and many in the weight gradient (n * m * k <= 4096)
SHAPES = [(1, 1, 1), (4, 16, 2), (4, 1, 16), (16, 1, 4), (4, 16, 1), (2, 16, 4), (3, 5, 7),
          (1, 9, 13), (13, 1, 9), (32, 1, 64), (64, 1, 32), (32, 64, 1), (8, 8, 8), (64, 8, 8),
          (17, 23, 10), (16, 16, 16), (5, 33, 7), (40, 1, 100), (1, 256, 1), (4096, 1, 1),
          (1000, 2, 2), (333, 16, 16), (129, 1, 200)]


@pytest.fixture
def path(request):
    """Run the test with small products in the small loops (True) or all in BLAS (False)."""
    previous = _blas.set_small_gemm(request.param)
    yield request.param
    _blas.set_small_gemm(previous)


def _check(got, a, b, dtype):
    exact = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)) + 1e-300
    rel = 1e-5 if dtype == np.float32 else 1e-12
    assert np.all(np.abs(got - exact) <= rel * scale), np.max(np.abs(got - exact) / scale)


def test_limits_are_the_documented_ones():
    assert (ROW_LIMIT, TOTAL_LIMIT) == (256, 4096)
    assert all(m * k <= ROW_LIMIT for n, m, k in SHAPES)


@pytest.mark.parametrize("path", [True, False], indirect=True, ids=["small", "blas"])
@pytest.mark.parametrize("n,m,k", SHAPES)
def test_every_layout_matches_float64(path, n, m, k, dtype):
    rng = np.random.default_rng(n * 1000 + m * 10 + k)
    X = rng.standard_normal((n, k)).astype(dtype)
    W = rng.standard_normal((k, m)).astype(dtype)
    dZ = rng.standard_normal((n, m)).astype(dtype)
    e1, e2 = np.empty(0, dtype), np.empty((0, 0), dtype)
    out = np.full((n, m), np.nan, dtype)
    dense.dense_forward(X, W, e1, out, 0, e1, e2, False, False, 1)
    _check(out, X, W, dtype)
    dW = np.full((k, m), np.nan, dtype)
    dX = np.full((n, k), np.nan, dtype)
    dense.dense_backward(X, W, dZ, dW, np.empty(m, dtype), dX, True, True)
    _check(dW, X.T, dZ, dtype)
    _check(dX, dZ, W.T, dtype)


@pytest.mark.parametrize("n,m,k", [(4, 16, 2), (17, 23, 10), (40, 1, 100), (64, 1, 32)])
def test_small_and_blas_paths_agree_and_repeat_exactly(n, m, k):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, k)).astype(np.float32)
    W = rng.standard_normal((k, m)).astype(np.float32)
    e1, e2 = np.empty(0, np.float32), np.empty((0, 0), np.float32)
    results = {}
    for enabled, rep in itertools.product([True, False], range(2)):
        previous = _blas.set_small_gemm(enabled)
        try:
            out = np.empty((n, m), np.float32)
            dense.dense_forward(X, W, e1, out, 0, e1, e2, False, False, 1)
        finally:
            _blas.set_small_gemm(previous)
        results.setdefault(enabled, []).append(out)
    for outs in results.values():
        np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k,m", [(16, 1), (10, 16), (100, 1), (64, 4), (256, 1), (16, 16), (2, 2)])
def test_a_row_predicts_the_same_in_any_batch(k, m):
    """Whether a product skips BLAS never depends on the number of rows, so a small layer's
    row is bitwise the same alone, in a chunk and in the whole set (a service batching
    requests). BLAS promises no such thing: OpenBLAS's GEMV sums a lone row in another order
    than a block of rows, so larger layers agree to rounding only."""
    rng = np.random.default_rng(k * m)
    X = rng.standard_normal((1000, k)).astype(np.float32)
    W = rng.standard_normal((k, m)).astype(np.float32)
    e1, e2 = np.empty(0, np.float32), np.empty((0, 0), np.float32)

    def forward(rows):
        out = np.empty((rows.shape[0], m), np.float32)
        dense.dense_forward(np.ascontiguousarray(rows), W, e1, out, 0, e1, e2, False, False, 1)
        return out

    whole = forward(X)
    for size in (1, 3, 100, 333):
        parts = np.concatenate([forward(X[s:s + size]) for s in range(0, 1000, size)])
        np.testing.assert_array_equal(parts, whole)


@pytest.mark.parametrize("k,m", [(16, 1), (2, 16), (16, 16), (100, 2)])
def test_rows_split_over_threads_give_each_row_its_lone_result(k, m):
    """A large X @ W of a small layer (predict on many rows) splits its rows over threads;
    each row is still computed alone, so the result equals one row at a time, bitwise."""
    rng = np.random.default_rng(k + m)
    X = rng.standard_normal((3001, k)).astype(np.float32)
    W = rng.standard_normal((k, m)).astype(np.float32)
    e1, e2 = np.empty(0, np.float32), np.empty((0, 0), np.float32)
    whole = np.empty((3001, m), np.float32)
    dense.dense_forward(X, W, e1, whole, 0, e1, e2, False, False, 2)
    lone = np.empty((1, m), np.float32)
    for i in range(0, 3001, 97):
        dense.dense_forward(np.ascontiguousarray(X[i:i + 1]), W, e1, lone, 0, e1, e2, False,
                            False, 1)
        np.testing.assert_array_equal(lone[0], whole[i])
    _check(whole, X, W, np.float32)


def test_products_above_the_limits_still_use_blas_and_are_right():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((33, 64)).astype(np.float32)   # 64 * 5 > 256 per row
    W = rng.standard_normal((64, 5)).astype(np.float32)
    out = np.empty((33, 5), np.float32)
    e1, e2 = np.empty(0, np.float32), np.empty((0, 0), np.float32)
    dense.dense_forward(X, W, e1, out, 0, e1, e2, False, False, 1)
    _check(out, X, W, np.float32)


def test_switch_returns_the_previous_setting():
    assert _blas.set_small_gemm(False) is True
    try:
        assert _blas.set_small_gemm(False) is False
    finally:
        _blas.set_small_gemm(True)


@pytest.mark.parametrize("path", [True, False], indirect=True, ids=["small", "blas"])
@pytest.mark.parametrize("sizes,act,batch", [([2, 16, 1], "tanh", 4),
                                             ([20, 64, 64, 1], "relu", 32)])
def test_small_networks_train_the_same_through_fit_and_python_steps(path, sizes, act, batch):
    """The compiled loop and the layer-by-layer path share gemm_rm, so W4- and W3-sized nets
    stay bitwise equal whichever path the products take (W3's dZ @ Wᵀ through the transposed
    weights)."""
    import fastlin
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, sizes[0])).astype(np.float32)
    y = (X[:, :1] * X[:, 1:2]).astype(np.float32)
    a = fastlin.MLP(sizes, activation=act, seed=1)
    b = fastlin.MLP(sizes, activation=act, seed=1)
    opt_a = fastlin.SGD(a.parameters(), lr=0.05)
    opt_b = fastlin.SGD(b.parameters(), lr=0.05)
    a.fit(X, y, loss=fastlin.MSELoss(), optimizer=opt_a, epochs=3, batch_size=batch,
          shuffle=False)
    loss = fastlin.MSELoss()
    for _ in range(3):
        for s in range(0, 64, batch):
            loss.forward(b.forward(X[s:s + batch]), y[s:s + batch])
            b.backward(loss.backward())
            opt_b.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa, pb)


def test_time_product_measures_both_paths_and_refuses_bad_shapes():
    for small in (True, False):
        assert 0 < _blas.time_product(False, False, 4, 16, 2, small, 10) < 1.0
    assert _blas.set_small_gemm(True) is True  # the timing left the setting as it was
    for bad in [(0, 16, 2, 10), (4, 16, 2, 0), (1 << 13, 1, 1 << 12, 1)]:
        with pytest.raises(ValueError, match="time_product"):
            _blas.time_product(False, False, *bad[:3], True, bad[3])


# dZ @ Wᵀ with W of 257..8192 values: W is transposed in registers (csrc/fl_transpose_tmpl.h)
# and multiplied without a transpose. Sizes off the 8x8 blocks, the largest W that qualifies
# (8192 values), one just above it (BLAS's transposed product), and one row (GEMV).
NT_SHAPES = [(32, 64, 64), (7, 13, 29), (33, 20, 64), (128, 128, 10), (5, 8, 1024),
             (3, 1024, 8), (64, 64, 128), (64, 65, 127), (1, 64, 64)]


@pytest.mark.parametrize("n,k,m", NT_SHAPES)
def test_input_gradient_through_the_transposed_weights(n, k, m):
    rng = np.random.default_rng(n + 7 * k + 31 * m)
    dZ = rng.standard_normal((n, m)).astype(np.float32)
    W = rng.standard_normal((k, m)).astype(np.float32)
    dX = np.full((n, k), np.nan, np.float32)
    dense.dense_backward(rng.standard_normal((n, k)).astype(np.float32), W, dZ,
                         np.empty((k, m), np.float32), np.empty(m, np.float32), dX, True, True)
    _check(dX, dZ, W.T, np.float32)
