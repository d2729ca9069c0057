"""The lecture on linear neural networks, as tests with its numbers."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastlin
from fastlin import (MLP, Dense, LinearRegression, MSELoss, ReLU, Sequential,
                     SoftmaxCrossEntropyLoss)
from fastlin.backend import get


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_squared_error_after_sigmoid_stalls_where_cross_entropy_does_not(backend):
    """At logit 5.6 with label 0: d/dz (σ(z) − 0)² = 2σ·σ(1−σ) ≈ 0.0073; BCE gives σ − y ≈ 0.9963."""
    K = get(backend)
    z = np.array([[5.6]])
    y = np.array([[0.0]])
    s = K.activation_forward(z, "sigmoid")
    _, dmse = K.mse(s, y)  # (s - y)^2 over one element: gradient 2 (s - y)
    grad_squared = K.activation_backward(dmse, "sigmoid", y=s)[0, 0]
    _, grad_bce = K.sigmoid_binary_cross_entropy(z, y)
    assert round(grad_squared, 4) == 0.0073
    assert round(grad_bce[0, 0], 4) == 0.9963


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([0, 1, 1, 0], dtype=np.float64)


def test_best_linear_model_on_xor():
    lr = LinearRegression().fit(XOR_X, XOR_Y)
    assert_allclose(lr.coef_, [0, 0], atol=1e-12)
    assert_allclose(lr.intercept_, 0.5)
    assert_allclose(np.mean((lr.predict(XOR_X) - XOR_Y) ** 2), 0.25)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_hand_set_relu_network_fits_xor_exactly(backend):
    hidden, out = Dense(2, 2), Dense(2, 1)
    hidden.W = [[1, 1], [1, 1]]
    hidden.b = [0, -1]
    out.W = [[1], [-2]]
    out.b = [0]
    net = Sequential(hidden, ReLU(), out, dtype="float64", backend=backend)
    pred = net.predict(XOR_X)
    assert_allclose(pred[:, 0], XOR_Y, atol=0)
    assert MSELoss(backend=backend).forward(pred, XOR_Y) == 0.0


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_mlp_learns_xor_from_random_start(backend):
    net = MLP([2, 8, 1], activation="tanh", dtype="float64", seed=3, backend=backend)
    net.fit(XOR_X, XOR_Y, loss="mse", optimizer=fastlin.SGD(net.parameters(), lr=0.1,
            momentum=0.9, backend=backend), epochs=500, batch_size=4, seed=0)
    assert np.mean((net.predict(XOR_X)[:, 0] - XOR_Y) ** 2) < 1e-3


def test_two_linear_layers_collapse_into_one(rng):
    a, b = Dense(4, 5, init="glorot", seed=1), Dense(5, 3, init="uniform", seed=2)
    net = Sequential(a, b, dtype="float64")
    X = rng.standard_normal((7, 4))
    one = Dense(4, 3)
    one = Sequential(one, dtype="float64")
    one.layers[0].W = a.W @ b.W
    one.layers[0].b = a.b @ b.W + b.b
    assert_allclose(net.predict(X), one.predict(X), rtol=1e-12, atol=1e-12)


def test_one_hidden_layer_approximates_sine():
    x = np.linspace(-np.pi, np.pi, 256).reshape(-1, 1)
    y = np.sin(x)
    net = MLP([1, 32, 1], activation="tanh", dtype="float64", seed=0)
    net.fit(x, y, loss="mse", optimizer="adam", lr=0.01, epochs=600, batch_size=64, seed=0)
    assert np.mean((net.predict(x) - y) ** 2) < 1e-3


HOUSES_X = np.array([[63.0, 13.0], [78.0, 2.0], [95.0, 9.0]])
HOUSES_Y = np.array([1.4, 1.95, 2.12])


@pytest.mark.parametrize("solver", ["lstsq", "normal"])
def test_house_prices_fit_exactly_as_lstsq(solver):
    lr = LinearRegression(solver=solver).fit(HOUSES_X, HOUSES_Y)
    A = np.hstack([HOUSES_X, np.ones((3, 1))])
    w = np.linalg.lstsq(A, HOUSES_Y, rcond=None)[0]
    assert_allclose(lr.coef_, w[:2], rtol=1e-8)
    assert_allclose(lr.intercept_, w[2], rtol=1e-8)
    assert_allclose(lr.predict(HOUSES_X), HOUSES_Y, atol=1e-10)


def test_normal_equations_equal_pseudo_inverse(rng):
    X = rng.standard_normal((50, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.7 + 0.1 * rng.standard_normal(50)
    a = LinearRegression(solver="lstsq").fit(X, y)
    b = LinearRegression(solver="normal").fit(X, y)
    A = np.hstack([X, np.ones((50, 1))])
    w = np.linalg.pinv(A) @ y
    assert_allclose(a.coef_, w[:4], rtol=1e-9)
    assert_allclose(b.coef_, w[:4], rtol=1e-8)
    assert_allclose(a.intercept_, w[4], rtol=1e-9)


def test_ridge_penalises_coefficients_not_intercept(rng):
    X = rng.standard_normal((40, 3))
    y = X @ [1.0, 2.0, 3.0] + 5.0
    alpha = 2.0
    for solver in ("lstsq", "normal"):
        m = LinearRegression(alpha=alpha, solver=solver).fit(X, y)
        Xc, yc = X - X.mean(0), y - y.mean()
        w = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(3), Xc.T @ yc)
        assert_allclose(m.coef_, w, rtol=1e-9)
        assert_allclose(m.intercept_, y.mean() - X.mean(0) @ w, rtol=1e-9)


def test_gaussian_maximum_likelihood_gives_squared_loss(rng):
    X = rng.standard_normal((200, 2))
    y = X @ [2.0, -1.0] + 0.3 + rng.normal(0, 0.5, 200)
    m = LinearRegression().fit(X, y)
    residual = y - m.predict(X)
    assert_allclose(m.noise_variance_, np.mean(residual ** 2))
    n = len(y)
    expected = -n / 2 * np.log(2 * np.pi * m.noise_variance_) - n / 2
    assert_allclose(m.log_likelihood(X, y), expected)
    # NLL at any fixed sigma² = RSS / (2 sigma²) + const: perturbing w raises NLL exactly as RSS/2σ².
    s2 = 0.7
    base = m.negative_log_likelihood(X, y, s2)
    m.coef_ = m.coef_ + 0.1
    moved = m.negative_log_likelihood(X, y, s2)
    rss_diff = np.sum((y - m.predict(X)) ** 2) - np.sum(residual ** 2)
    assert_allclose(moved - base, rss_diff / (2 * s2))
    # GaussianNLLLoss with the MLE variance equals the per-sample NLL.
    loss = fastlin.GaussianNLLLoss(var=s2, backend="numpy")
    pred = (X @ (m.coef_ - 0.1) + m.intercept_).reshape(-1, 1)
    assert_allclose(loss.forward(pred, y), base / n)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_softmax_regression_gradient_is_softmax_minus_onehot(backend, rng):
    K = get(backend)
    z = rng.standard_normal((5, 4))
    y = np.array([0, 3, 1, 1, 2])
    _, g = K.softmax_cross_entropy(z, y)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert_allclose(g * 5, p - np.eye(4)[y], atol=1e-12)
    loss = SoftmaxCrossEntropyLoss(backend=backend)
    loss.forward(z, y)
    assert_allclose(loss.backward() * 5, p - np.eye(4)[y], atol=1e-12)


def test_logistic_and_softmax_regression_learn(rng):
    X = rng.standard_normal((400, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    assert fastlin.LogisticRegression().fit(X, y).score(X, y) > 0.95
    y3 = np.argmax(X @ rng.standard_normal((3, 3)), axis=1)
    assert fastlin.SoftmaxRegression(C=100).fit(X, y3).score(X, y3) > 0.95
