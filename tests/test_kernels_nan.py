"""NaN and extreme inputs through the kernels that evaluate exp (csrc/fl_math.h fl_expf).

A diverging fit feeds NaN logits to sigmoid, softmax and the fused losses. fl_expf used to turn
NaN into an int (undefined behaviour: x86 gives INT_MIN, which it then shifted), so the result
was NaN only by luck and the sanitizer build (.ci/run, FASTLIN_SANITIZE=1) aborted; fl_logf
turned a NaN softmax denominator into ~88, so a float32 log-softmax row holding NaN came out
finite. These tests
pin the results against the NumPy backend; run under the sanitizer job they also prove the
path free of undefined behaviour. Shapes have 37 columns so the vector body and the scalar tail
of every loop see NaN. (Rows made only of NaN or infinities are the softmax limit rule's business,
tested with the kernel contracts.)
"""
import numpy as np
import pytest

import fastlin.backend as B

C, N = B.get("cython"), B.get("numpy")
ROWS, COLS = 6, 37


def _with_nans(dtype, rng):
    x = rng.standard_normal((ROWS, COLS)).astype(dtype) * 4
    x[1, 3] = np.nan  # vector body
    x[2, COLS - 1] = np.nan  # scalar tail
    x[4, ::5] = np.nan  # several in a row
    return x


def _assert_same(got, want, dtype):
    """NaN exactly where the reference has NaN, the values elsewhere within the suite's
    compiled-vs-NumPy tolerance (tests/conftest.py)."""
    from conftest import tolerance
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, equal_nan=True, **tolerance(dtype))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_activation_forward_propagates_nan(activation, dtype, rng):
    x = _with_nans(dtype, rng)
    _assert_same(C.activation_forward(x, activation), N.activation_forward(x, activation), dtype)


def test_dense_forward_with_sigmoid_propagates_nan(dtype, rng):
    x = _with_nans(dtype, rng)
    W = np.eye(COLS, dtype=dtype)
    b = rng.standard_normal(COLS).astype(dtype)
    _assert_same(C.dense_forward(x, W, b, activation="sigmoid"),
                 N.dense_forward(x, W, b, activation="sigmoid"), dtype)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_rows_with_nan_are_nan_and_others_unchanged(log, dtype, rng):
    x = _with_nans(dtype, rng)
    fn = "log_softmax" if log else "softmax"
    got, want = getattr(C, fn)(x), getattr(N, fn)(x)
    nan_rows = np.isnan(x).any(axis=1)
    assert np.isnan(got[nan_rows]).all() and np.isnan(want[nan_rows]).all()
    _assert_same(got[~nan_rows], want[~nan_rows], dtype)


def test_softmax_cross_entropy_with_nan_logits(dtype, rng):
    z = _with_nans(dtype, rng)
    labels = rng.integers(0, COLS, ROWS)
    loss_c, grad_c = C.softmax_cross_entropy(z, labels)
    loss_n, grad_n = N.softmax_cross_entropy(z, labels)
    assert np.isnan(loss_c) and np.isnan(loss_n)
    nan_rows = np.isnan(z).any(axis=1)
    assert np.isnan(grad_c[nan_rows]).all()
    _assert_same(grad_c[~nan_rows], grad_n[~nan_rows], dtype)


def test_sigmoid_binary_cross_entropy_with_nan_logits(dtype, rng):
    z = _with_nans(dtype, rng)
    t = (rng.random((ROWS, COLS)) < 0.5).astype(dtype)
    loss_c, grad_c = C.sigmoid_binary_cross_entropy(z, t)
    loss_n, grad_n = N.sigmoid_binary_cross_entropy(z, t)
    assert np.isnan(loss_c) and np.isnan(loss_n)
    _assert_same(grad_c, grad_n, dtype)


def test_sigmoid_at_and_beyond_the_exp_clamp():
    """fl_expf clamps to [-87.34, 88.38], selects 0 / inf outside, and now builds 2^n from the
    bits of the rounded argument: check every side of both bounds, the infinities and the float
    range's ends against float64 (float32 sigmoid: a few ulp at unit scale, exact 0/1 beyond)."""
    f32 = np.finfo(np.float32)
    edges = [88.3762626647949, -87.3365447504, 87.0, -87.0, 88.0, -88.0, 89.0, -89.0, 103.0,
             -104.0, 1e10, -1e10, float(f32.max), -float(f32.max), np.inf, -np.inf, 0.0, -0.0]
    with np.errstate(over="ignore"):  # the step past float32's max is inf, as intended
        vals = np.array([np.nextafter(np.float32(e), np.float32(d)) for e in edges
                         for d in (-np.inf, 0, np.inf)], dtype=np.float32)
    x = np.ascontiguousarray(np.resize(vals, (3, vals.size)))  # rows also hit the vector body
    got = C.activation_forward(x, "sigmoid")
    with np.errstate(over="ignore"):
        want = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-30)
    assert np.isfinite(got).all()
