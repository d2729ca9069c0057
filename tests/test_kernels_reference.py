"""Every compiled kernel against its NumPy twin on awkward shapes and both dtypes."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastlin.backend as B
from fastlin import backend
from fastlin.backend import compiled
from fastlin.backend._validation import ACTIVATIONS

SHAPES = [(1, 1), (1, 7), (5, 1), (33, 17), (130, 10), (257, 65)]


def _alpha(act, m, dtype, rng):
    if act == "leaky_relu":
        return 0.05
    if act == "prelu":
        return rng.uniform(0.05, 0.5, size=m).astype(dtype)
    return None


def test_cython_backend_is_the_compiled_module():
    assert B.get() is B.get("cython")
    assert isinstance(B.get("cython"), compiled.CompiledKernels)
    assert B.get("numpy").name == "numpy"
    assert set(B.get("cython").KERNELS) == set(B.get("numpy").KERNELS)
    for name in B.KERNELS:
        assert callable(getattr(B.get("cython"), name))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_dense_forward(C, N, tol, dtype, rng, shape, act):
    n, m = shape
    k = 9
    X = rng.standard_normal((n, k)).astype(dtype)
    W = rng.standard_normal((k, m)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    alpha = _alpha(act, m, dtype, rng)
    pc, pn = np.empty((n, m), dtype), np.empty((n, m), dtype)
    yc = C.dense_forward(X, W, b, activation=act, alpha=alpha, preact=pc)
    yn = N.dense_forward(X, W, b, activation=act, alpha=alpha, preact=pn)
    assert yc.dtype == dtype
    assert_allclose(yc, yn, **tol(dtype))
    assert_allclose(pc, pn, **tol(dtype))
    assert_allclose(C.dense_forward(X, W), X @ W, **tol(dtype))


@pytest.mark.parametrize("shape", SHAPES)
def test_dense_backward(C, N, tol, dtype, rng, shape):
    n, m = shape
    k = 6
    X = rng.standard_normal((n, k)).astype(dtype)
    W = rng.standard_normal((k, m)).astype(dtype)
    dZ = rng.standard_normal((n, m)).astype(dtype)
    rc, rn = C.dense_backward(X, W, dZ), N.dense_backward(X, W, dZ)
    for a, b in zip(rc, rn):
        assert_allclose(a, b, **tol(dtype))
    dW, db, dX = C.dense_backward(X, W, dZ, compute_db=False, compute_dX=False)
    assert db is None and dX is None
    assert_allclose(dW, rn[0], **tol(dtype))


@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("m", [1, 3])
def test_dense_products_with_a_unit_dimension(C, rng, n, k, m):
    """Products with one output row or column go to GEMV, the rest to GEMM: every transpose
    case of that switch (forward, dW = Xᵀ dZ, dX = dZ Wᵀ) against NumPy in float64."""
    X, W, dZ = rng.standard_normal((n, k)), rng.standard_normal((k, m)), rng.standard_normal((n, m))
    b = rng.standard_normal(m)
    assert_allclose(C.dense_forward(X, W, b), X @ W + b, rtol=1e-13, atol=1e-13)
    dW, db, dX = C.dense_backward(X, W, dZ)
    assert_allclose(dW, X.T @ dZ, rtol=1e-13, atol=1e-13)
    assert_allclose(db, dZ.sum(axis=0), rtol=1e-13, atol=1e-13)
    assert_allclose(dX, dZ @ W.T, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_activation_forward_backward(C, N, tol, dtype, rng, shape, act):
    x = rng.standard_normal(shape).astype(dtype) * 3
    g = rng.standard_normal(shape).astype(dtype)
    alpha = _alpha(act, shape[1], dtype, rng)
    yc = C.activation_forward(x, act, alpha=alpha)
    yn = N.activation_forward(x, act, alpha=alpha)
    assert_allclose(yc, yn, **tol(dtype))
    kw = dict(x=x, y=yc, alpha=alpha)
    if act == "prelu":
        dac, dan = np.empty_like(alpha), np.empty_like(alpha)
        gc = C.activation_backward(g, act, dalpha=dac, **kw)
        gn = N.activation_backward(g, act, dalpha=dan, **kw)
        assert_allclose(dac, dan, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)
    else:
        gc = C.activation_backward(g, act, **kw)
        gn = N.activation_backward(g, act, **kw)
    assert_allclose(gc, gn, **tol(dtype))


def test_prelu_shared_alpha(C, N, tol, dtype, rng):
    x = rng.standard_normal((70, 5)).astype(dtype)
    g = rng.standard_normal((70, 5)).astype(dtype)
    a = np.array([0.2], dtype)
    dac, dan = np.empty(1, dtype), np.empty(1, dtype)
    assert_allclose(C.activation_forward(x, "prelu", alpha=a), N.activation_forward(x, "prelu", alpha=a))
    C.activation_backward(g, "prelu", x=x, alpha=a, dalpha=dac)
    N.activation_backward(g, "prelu", x=x, alpha=a, dalpha=dan)
    assert_allclose(dac, dan, rtol=1e-5)


def test_activation_in_place(C, dtype, rng):
    x = rng.standard_normal((40, 8)).astype(dtype)
    expected = C.activation_forward(x, "sigmoid")
    C.activation_forward(x, "sigmoid", out=x)
    assert_array_equal(x, expected)


@pytest.mark.parametrize("shape", SHAPES + [(64, 1000)])
def test_softmax_and_log_softmax(C, N, tol, dtype, rng, shape):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    assert_allclose(C.softmax(x), N.softmax(x), **tol(dtype))
    assert_allclose(C.log_softmax(x), N.log_softmax(x), **tol(dtype))
    assert_allclose(C.softmax(x).sum(axis=1), 1, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("kernel", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_rows_without_classes_is_empty_in_both_backends(kernel, dtype):
    """A (3, 0) input has nothing to normalise: both backends return the empty (3, 0) output,
    as torch.softmax does, instead of the NumPy twin failing inside numpy's max."""
    x = np.empty((3, 0), dtype)
    for name in ("cython", "numpy"):
        out = getattr(backend.get(name), kernel)(x)
        assert out.shape == (3, 0) and out.dtype == dtype


@pytest.mark.parametrize("shape", [(1, 2), (3, 1), (130, 10), (200, 33)])
@pytest.mark.parametrize("target_kind", ["labels", "probs"])
@pytest.mark.parametrize("opts", ["plain", "sample_weight", "class_weight", "smoothing", "all"])
def test_softmax_cross_entropy(C, N, tol, dtype, rng, shape, target_kind, opts):
    n, k = shape
    z = (rng.standard_normal(shape) * 3).astype(dtype)
    if target_kind == "labels":
        t = rng.integers(0, k, n)
    else:
        t = rng.dirichlet(np.ones(k), n).astype(dtype)
    kw = {}
    if opts in ("sample_weight", "all"):
        kw["sample_weight"] = rng.uniform(0.1, 2, n).astype(dtype)
    if opts in ("class_weight", "all"):
        kw["class_weight"] = rng.uniform(0.1, 2, k).astype(dtype)
    if opts in ("smoothing", "all"):
        kw["label_smoothing"] = 0.2
    lc, gc = C.softmax_cross_entropy(z, t, **kw)
    ln, gn = N.softmax_cross_entropy(z, t, **kw)
    assert isinstance(lc, float)
    assert_allclose(lc, ln, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert_allclose(gc, gn, **tol(dtype))


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (300, 1), (129, 20)])
def test_bce_and_mse(C, N, tol, dtype, rng, shape):
    z = (rng.standard_normal(shape) * 4).astype(dtype)
    t = rng.integers(0, 2, shape).astype(dtype)
    sw = rng.uniform(0.1, 2, shape[0]).astype(dtype)
    pw = rng.uniform(0.5, 3, shape[1]).astype(dtype)
    for kw in ({}, dict(sample_weight=sw), dict(pos_weight=pw), dict(sample_weight=sw, pos_weight=pw)):
        lc, gc = C.sigmoid_binary_cross_entropy(z, t, **kw)
        ln, gn = N.sigmoid_binary_cross_entropy(z, t, **kw)
        assert_allclose(lc, ln, rtol=1e-6 if dtype == np.float32 else 1e-12)
        assert_allclose(gc, gn, **tol(dtype))
    for kw in ({}, dict(sample_weight=sw)):
        lc, gc = C.mse(z, t, **kw)
        ln, gn = N.mse(z, t, **kw)
        assert_allclose(lc, ln, rtol=1e-6 if dtype == np.float32 else 1e-12)
        assert_allclose(gc, gn, **tol(dtype))
    loss, grad = C.mse(z, t, compute_grad=False)
    assert grad is None and loss == pytest.approx(C.mse(z, t)[0])


@pytest.mark.parametrize("size", [1, 7, 40000])
@pytest.mark.parametrize("momentum,nesterov,wd", [(0, False, 0), (0, False, 0.01), (0.9, False, 0), (0.9, True, 1e-3)])
def test_sgd_update(C, N, tol, dtype, rng, size, momentum, nesterov, wd):
    p0 = rng.standard_normal(size).astype(dtype)
    pc, pn = p0.copy(), p0.copy()
    vc, vn = np.zeros_like(p0), np.zeros_like(p0)
    for _ in range(3):
        g = rng.standard_normal(size).astype(dtype)
        C.sgd_update(pc, g, vc, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd)
        N.sgd_update(pn, g, vn, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd)
    assert_allclose(pc, pn, **tol(dtype))
    assert_allclose(vc, vn, **tol(dtype))


@pytest.mark.parametrize("size", [1, 33, 40000])
@pytest.mark.parametrize("wd,decoupled", [(0, False), (0.1, False), (0.1, True)])
def test_adam_update(C, N, tol, dtype, rng, size, wd, decoupled):
    p0 = rng.standard_normal((size, 1)).astype(dtype)
    pc, pn = p0.copy(), p0.copy()
    state_c = [np.zeros_like(p0), np.zeros_like(p0)]
    state_n = [np.zeros_like(p0), np.zeros_like(p0)]
    for step in range(1, 4):
        g = rng.standard_normal((size, 1)).astype(dtype)
        C.adam_update(pc, g, *state_c, step, lr=0.01, weight_decay=wd, decoupled=decoupled)
        N.adam_update(pn, g, *state_n, step, lr=0.01, weight_decay=wd, decoupled=decoupled)
    assert_allclose(pc, pn, **tol(dtype))


def test_adam_bias_corrections_at_interleaved_and_very_large_steps(C, N, tol, dtype, rng):
    """The C update remembers its last bias corrections 1 - beta^step per thread and returns 1.0
    without pow once beta^step < 2^-61: tensors updated with other betas and steps in between,
    steps going back, and steps where 0.9^step underflows all match the NumPy twin."""
    calls = [((0.9, 0.999), 1), ((0.5, 0.8), 1), ((0.9, 0.999), 1), ((0.9, 0.999), 2),
             ((0.5, 0.8), 7), ((0.9, 0.999), 1), ((0.9, 0.999), 7065), ((0.9, 0.999), 10 ** 6),
             ((0.5, 0.8), 10 ** 6), ((0.999, 0.9), 3), ((0.9, 0.999), 2)]
    for betas, step in calls:
        p0 = rng.standard_normal(37).astype(dtype)
        g = rng.standard_normal(37).astype(dtype)
        m0 = rng.standard_normal(37).astype(dtype)
        v0 = rng.random(37).astype(dtype)
        pc, mc, vc = p0.copy(), m0.copy(), v0.copy()
        pn, mn, vn = p0.copy(), m0.copy(), v0.copy()
        C.adam_update(pc, g, mc, vc, step, lr=0.01, betas=betas)
        N.adam_update(pn, g, mn, vn, step, lr=0.01, betas=betas)
        assert_allclose(pc, pn, **tol(dtype))


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "activation", "dense"])
def test_threads_deterministic(C, rng, name):
    """Repeated runs at one thread count are bitwise equal; 1 vs 2 threads agree (losses are
    summed per fixed block, so they agree bitwise too)."""
    z = rng.standard_normal((4096, 64)).astype(np.float32)
    y = rng.integers(0, 64, 4096)
    W = rng.standard_normal((64, 64)).astype(np.float32)

    def run(nt):
        if name == "softmax_cross_entropy":
            loss, g = C.softmax_cross_entropy(z, y, n_threads=nt)
            return np.append(g.ravel(), loss)
        if name == "activation":
            return C.activation_forward(z, "sigmoid", n_threads=nt)
        return C.dense_forward(z, W, np.ones(64, np.float32), activation="tanh", n_threads=nt)

    a1, b1, a2, b2 = run(1), run(1), run(2), run(2)
    assert_array_equal(a1, b1)
    assert_array_equal(a2, b2)
    assert_allclose(a1, a2, rtol=1e-6, atol=1e-7)
    if name != "dense":
        assert_array_equal(a1, a2)


def test_read_only_inputs(C, tol, dtype, rng):
    X = rng.standard_normal((10, 4)).astype(dtype)
    W = rng.standard_normal((4, 3)).astype(dtype)
    X.flags.writeable = False
    W.flags.writeable = False
    assert_allclose(C.dense_forward(X, W), X @ W, **tol(dtype))
    loss, _ = C.softmax_cross_entropy(X, np.zeros(10, np.int64))
    assert np.isfinite(loss)


def test_out_buffers_are_used(C, tol, dtype, rng):
    X = rng.standard_normal((10, 4)).astype(dtype)
    W = rng.standard_normal((4, 3)).astype(dtype)
    out = np.empty((10, 3), dtype)
    assert C.dense_forward(X, W, out=out) is out
    g = np.empty((10, 4), dtype)
    _, grad = C.softmax_cross_entropy(X, np.zeros(10, np.int64), grad=g)
    assert grad is g
