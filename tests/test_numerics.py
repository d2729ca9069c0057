"""Extreme logits: finite results for ±1e4 in both dtypes, documented limits for ±inf."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastlin.backend as B


@pytest.fixture(params=["cython", "numpy"])
def K(request):
    return B.get(request.param)


@pytest.mark.parametrize("big", [1e4, -1e4])
def test_softmax_cross_entropy_extreme_logits(K, dtype, big):
    z = np.array([[big, 0.0, -big], [0.0, big, 0.0]], dtype)
    loss, grad = K.softmax_cross_entropy(z, np.array([2, 1]))
    assert np.isfinite(loss) and np.isfinite(grad).all()
    # big > 0: row 0 is wrong by 2*big, row 1 right; big < 0: row 0 right, row 1 wrong by |big| + log 2
    expected = big if big > 0 else (abs(big) + np.log(2)) / 2
    assert_allclose(loss, expected, rtol=1e-6)
    p = K.softmax(z)
    assert np.isfinite(p).all() and np.isfinite(K.log_softmax(z)).all()


@pytest.mark.parametrize("big", [1e4, -1e4])
def test_bce_extreme_logits(K, dtype, big):
    z = np.full((2, 2), big, dtype)
    t = np.array([[0, 1], [1, 0]], dtype)
    loss, grad = K.sigmoid_binary_cross_entropy(z, t)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    # half the entries are confidently wrong by |big|: mean loss = |big| / 2
    assert_allclose(loss, abs(big) / 2, rtol=1e-6)
    assert_allclose(np.abs(grad).sum() * 4, 2, rtol=1e-6)


def test_sigmoid_activation_extremes(K, dtype):
    x = np.array([[-1e4, -100, 0, 100, 1e4]], dtype)
    y = K.activation_forward(x, "sigmoid")
    assert np.isfinite(y).all()
    assert y[0, 2] == 0.5 and y[0, 4] == 1 and y[0, 0] < 1e-30


def test_infinite_logits_limits(K, dtype):
    inf = np.inf
    z = np.array([[inf, 0.0, 0.0], [inf, inf, 0.0], [0.0, -inf, 1.0]], dtype)
    loss, grad = K.softmax_cross_entropy(z, np.array([0, 1, 0]))
    # row 0: all mass on class 0 -> loss 0; row 1: two +inf entries share it -> log 2;
    # row 2: -inf gets probability 0, finite loss for label 0.
    assert_allclose(loss, (np.log(2) + np.log(1 + np.e)) / 3, rtol=1e-6)
    assert np.isfinite(grad).all()
    assert K.softmax_cross_entropy(z, np.array([1, 1, 1]))[0] == inf
    assert_allclose(K.softmax(z)[1], [0.5, 0.5, 0])
    lb, gb = K.sigmoid_binary_cross_entropy(np.array([[inf, -inf]], dtype), np.array([[1, 0]], dtype))
    assert lb == 0 and (gb == 0).all()
    lb, _ = K.sigmoid_binary_cross_entropy(np.array([[inf]], dtype), np.array([[0]], dtype))
    assert lb == inf


def test_fast_exp_accuracy():
    """The compiled float32 exp behind sigmoid/softmax stays within a few ulp of float64 exp."""
    C = B.get("cython")
    x = np.linspace(-80, 80, 100001).astype(np.float32).reshape(1, -1)
    y = C.activation_forward(x, "sigmoid")
    ref = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert_allclose(y, ref, rtol=4e-7, atol=1e-38)


@pytest.mark.parametrize("k", [3, 10, 16, 17])
def test_infinite_row_inside_a_batch_of_short_rows(dtype, k):
    """Short rows take a flat-block path; a limit row anywhere in the block must fall back to
    the row-by-row path and give the same numbers as the NumPy twin."""
    rng = np.random.default_rng(1)
    z = rng.standard_normal((150, k)).astype(dtype)
    z[70, 1] = np.inf
    z[71, :] = -1e4
    y = rng.integers(0, k, 150)
    y[70] = 1
    lc, gc = B.get("cython").softmax_cross_entropy(z, y)
    ln, gn = B.get("numpy").softmax_cross_entropy(z, y)
    assert np.isfinite(lc) and np.isfinite(gc).all()
    assert_allclose(lc, ln, rtol=1e-5)
    assert_allclose(gc, gn, rtol=1e-5, atol=1e-7)
    for weights in (dict(sample_weight=np.linspace(0.5, 1.5, 150)), dict(label_smoothing=0.1)):
        lc, gc = B.get("cython").softmax_cross_entropy(z, y, **weights)
        ln, gn = B.get("numpy").softmax_cross_entropy(z, y, **weights)
        assert_allclose(lc, ln, rtol=1e-5)
        assert_allclose(gc, gn, rtol=1e-5, atol=1e-7)
    pc, pn = B.get("cython").softmax(z), B.get("numpy").softmax(z)
    assert np.isfinite(pc).all()
    assert_allclose(pc, pn, rtol=1e-5, atol=1e-7)
    assert pc[70, 1] == 1 and pc[70].sum() == 1


def test_fast_tanh_accuracy():
    """The compiled float32 tanh (a rational approximation) stays within 3 ulp of float64 tanh,
    returns exactly +-1 far out, and keeps NaN."""
    C = B.get("cython")
    x = np.linspace(-20, 20, 200001).astype(np.float32).reshape(1, -1)
    y = C.activation_forward(x, "tanh")
    assert_allclose(y, np.tanh(x.astype(np.float64)), rtol=4e-7, atol=1e-45)
    special = np.array([[np.inf, -np.inf, np.nan, 1e-30, -0.0]], np.float32)
    out = C.activation_forward(special, "tanh")
    assert out[0, 0] == 1 and out[0, 1] == -1 and np.isnan(out[0, 2]) and out[0, 3] == 1e-30
