"""Every backward pass and fused loss against central finite differences in float64.

Step h = 1e-6 gives truncation error O(h²) ≈ 1e-12 and rounding error O(eps/h) ≈ 1e-10 on
quantities of order one, so gradients must agree to rtol 1e-6, atol 1e-8 (kinks of relu,
leaky_relu, prelu and abs are avoided by keeping inputs away from 0).
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastlin.backend as B
from fastlin.backend._validation import ACTIVATIONS

H = 1e-6
TOL = dict(rtol=1e-6, atol=1e-8)


def numeric_grad(f, x):
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + H
        up = f()
        flat[i] = old - H
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * H)
    return g


def away_from_zero(rng, shape):
    x = rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return x


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_activation_backward_matches_finite_differences(backend, act, rng):
    K = B.get(backend)
    x = away_from_zero(rng, (4, 3))
    w = rng.standard_normal((4, 3))  # loss = sum(w * act(x))
    alpha = {"leaky_relu": 0.1, "prelu": rng.uniform(0.1, 0.4, 3)}.get(act)
    y = K.activation_forward(x, act, alpha=alpha)
    g = K.activation_backward(w, act, x=x, y=y, alpha=alpha)
    expected = numeric_grad(lambda: float((w * K.activation_forward(x, act, alpha=alpha)).sum()), x)
    assert_allclose(g, expected, **TOL)
    if act == "prelu":
        dalpha = np.empty(3)
        K.activation_backward(w, act, x=x, alpha=alpha, dalpha=dalpha)
        expected_a = numeric_grad(lambda: float((w * K.activation_forward(x, act, alpha=alpha)).sum()), alpha)
        assert_allclose(dalpha, expected_a, **TOL)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("act", ["identity", "sigmoid", "tanh", "relu"])
def test_dense_backward_matches_finite_differences(backend, act, rng):
    K = B.get(backend)
    X = rng.standard_normal((5, 4))
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    R = rng.standard_normal((5, 3))

    def loss():
        return float((R * K.dense_forward(X, W, b, activation=act)).sum())

    z = K.dense_forward(X, W, b)
    y = K.activation_forward(z, act)
    dZ = K.activation_backward(R, act, x=z, y=y)
    dW, db, dX = K.dense_backward(X, W, dZ)
    assert_allclose(dW, numeric_grad(loss, W), **TOL)
    assert_allclose(db, numeric_grad(loss, b), **TOL)
    assert_allclose(dX, numeric_grad(loss, X), **TOL)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("kind", ["labels", "probs"])
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_cross_entropy_gradient(backend, kind, weighted, rng):
    K = B.get(backend)
    z = rng.standard_normal((6, 4)) * 2
    t = rng.integers(0, 4, 6) if kind == "labels" else rng.dirichlet(np.ones(4), 6)
    kw = dict(sample_weight=rng.uniform(0.5, 2, 6), class_weight=rng.uniform(0.5, 2, 4),
              label_smoothing=0.15) if weighted else {}
    _, g = K.softmax_cross_entropy(z, t, **kw)
    assert_allclose(g, numeric_grad(lambda: K.softmax_cross_entropy(z, t, **kw)[0], z), **TOL)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_bce_and_mse_gradients(backend, rng):
    K = B.get(backend)
    z = rng.standard_normal((5, 3)) * 3
    t = rng.uniform(0, 1, (5, 3))
    kw = dict(sample_weight=rng.uniform(0.5, 2, 5), pos_weight=rng.uniform(0.5, 3, 3))
    for extra in ({}, kw):
        _, g = K.sigmoid_binary_cross_entropy(z, t, **extra)
        assert_allclose(g, numeric_grad(lambda: K.sigmoid_binary_cross_entropy(z, t, **extra)[0], z), **TOL)
    sw = dict(sample_weight=kw["sample_weight"])
    for extra in ({}, sw):
        _, g = K.mse(z, t, **extra)
        assert_allclose(g, numeric_grad(lambda: K.mse(z, t, **extra)[0], z), **TOL)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_log_softmax_is_log_of_softmax(backend, rng):
    K = B.get(backend)
    x = rng.standard_normal((8, 5)) * 10
    assert_allclose(K.log_softmax(x), np.log(K.softmax(x)), rtol=1e-12, atol=1e-12)
